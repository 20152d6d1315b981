"""The official Jupyter kernel conformance suite (jupyter_kernel_test) configured for efflab.

Run: .venv/bin/python -m unittest tests/kernel/conformance.py -v  (with the efflab kernelspec
installed by `npm run setup`). Every sample the suite offers is filled in except the pager
(`code_page_something`), which has no TypeScript equivalent.
"""

import unittest

import jupyter_kernel_test


class EfflabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "efflab"

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Loading the efflab library the first time takes seconds on a busy machine; do it before
        # the suite's 15 s per-request timeouts apply.
        reply = cls.kc.execute_interactive("import { html } from 'efflab';", timeout=180, output_hook=lambda m: None)
        assert reply["content"]["status"] == "ok", reply["content"]
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const zebra_count = 1; zebra_c", "matches": {"zebra_count"}},
        # completion on efflab's own API, typed from a folder without node_modules
        {"text": "import { progress } from 'efflab';\nprogress({ total: 1 }).ti", "matches": {"tick"}},
    ]

    complete_code_samples = ["1 + 1", "const a = 1;", "function f() {\n  return 1;\n}", "for (const x of [1, 2]) {\n  x;\n}"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "if (true) {\n  console.log(1);"]
    invalid_code_samples = ["const = 5;", "1 +* 2;", "x = )(;"]

    code_generate_error = 'throw new Error("this cell fails on purpose")'

    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "'efflab'.toUpperCase()", "result": "'EFFLAB'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "import { html } from 'efflab';\nhtml('<b>bold</b>')", "mime": "text/html", "result": "<b>bold</b>"},
    ]

    code_display_data = [
        {"code": "import { display, html } from 'efflab';\ndisplay(html('<b>hello</b>'));", "mime": "text/html"},
        {"code": "import { display, markdown } from 'efflab';\ndisplay(markdown('# title'));", "mime": "text/markdown"},
        {
            "code": "import { display, plotly } from 'efflab';\ndisplay(plotly({ data: [{ x: [1, 2], y: [3, 4] }] }));",
            "mime": "application/vnd.plotly.v1+json",
        },
    ]

    code_history_pattern = "6?7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = "import { clearOutput } from 'efflab';\nclearOutput();"


if __name__ == "__main__":
    unittest.main(verbosity=2)
