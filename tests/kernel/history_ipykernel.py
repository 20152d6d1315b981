"""history_request against ipykernel: the same cells run in an efflab kernel and in ipykernel's
python3 kernel (both from .venv, each with a fresh, empty history store), then the same tail, range
and search requests go to both and the replies must agree.

The cells are expressions that read the same in Python and TypeScript; a first session runs a few,
is shut down, and a second session runs the rest, so tail, search and range span sessions (unique
keeps an input's latest entry across them). One documented difference
is normalised: for the current session, ipykernel's `range` reports session 0, efflab the
session's number (the number `tail` reports, which jupyter_kernel_test's range check requires)."""

import os
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

from kernel_client import TIMEOUT, run, shell_reply

EARLIER_CELLS = ["6*7", "'ab'", "2+2", "1+1"]
CELLS = ["6*7", "1+1", "6*7", "'ab'", "7*6", "6*7", "1+1", "[1, 2]"]

REQUESTS = [
    {"hist_access_type": "tail", "n": 3},
    {"hist_access_type": "tail", "n": 1},
    {"hist_access_type": "tail", "n": 0},
    {"hist_access_type": "tail", "n": 50},
    {"hist_access_type": "tail", "n": 10},
    {"hist_access_type": "range", "session": -1, "start": 1},
    {"hist_access_type": "range", "session": -1, "start": 2, "stop": 4},
    {"hist_access_type": "range", "session": 1, "start": 0},
    {"hist_access_type": "range", "session": 0, "start": 2, "stop": 4},
    {"hist_access_type": "range", "session": 0, "start": 0},
    {"hist_access_type": "range", "session": 0, "start": 1, "stop": 0},
    {"hist_access_type": "range", "session": 0, "start": -3},
    {"hist_access_type": "range", "session": 0, "start": 2, "stop": -2},
    {"hist_access_type": "range", "session": 0, "start": 5, "stop": 100},
    {"hist_access_type": "search", "pattern": "6?7"},
    {"hist_access_type": "search", "pattern": "6?7", "unique": True},
    {"hist_access_type": "search", "pattern": "*", "unique": True},
    {"hist_access_type": "search", "pattern": "*", "unique": True, "n": 2},
    {"hist_access_type": "search", "pattern": "*", "n": 3},
    {"hist_access_type": "search", "pattern": "*", "n": 0},
    {"hist_access_type": "search", "pattern": "[67]*"},
    {"hist_access_type": "search", "pattern": "[^6]*", "unique": True},
    {"hist_access_type": "search", "pattern": "*+*", "n": 1},
    {"hist_access_type": "search", "pattern": "nothing*"},
]


def history(kc, **request):
    msg_id = kc.history(raw=True, output=False, **request)
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok", reply["content"]
    return [list(entry) for entry in reply["content"]["history"]]


class HistoryAgainstIpykernel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="efflab-ipython-")
        os.environ["EFFLAB_HISTORY_DIR"] = tempfile.mkdtemp(prefix="efflab-history-")
        folder = tempfile.mkdtemp(prefix="efflab-nb-")
        for name in ("efflab", "python3"):
            km, kc = start_new_kernel(kernel_name=name, cwd=folder, startup_timeout=TIMEOUT)
            for code in EARLIER_CELLS:
                reply, _ = run(kc, code)
                assert reply["status"] == "ok", reply
            kc.stop_channels()
            km.shutdown_kernel(now=False)  # a clean shutdown writes each kernel's history out
        cls.kernels = {
            name: start_new_kernel(kernel_name=name, cwd=folder, startup_timeout=TIMEOUT)
            for name in ("efflab", "python3")
        }
        for _, kc in cls.kernels.values():
            for code in CELLS:
                reply, _ = run(kc, code)
                assert reply["status"] == "ok", reply
        cls.session = history(cls.kernels["efflab"][1], hist_access_type="tail", n=1)[0][0]

    @classmethod
    def tearDownClass(cls):
        for km, kc in cls.kernels.values():
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def test_fresh_stores_number_sessions_alike(self):
        self.assertEqual(self.session, 2)
        self.assertEqual(history(self.kernels["python3"][1], hist_access_type="tail", n=1)[0][0], 2)

    def test_same_replies_as_ipykernel(self):
        for request in REQUESTS:
            with self.subTest(**request):
                ours = history(self.kernels["efflab"][1], **request)
                theirs = history(self.kernels["python3"][1], **request)
                if request["hist_access_type"] == "range":
                    theirs = [[self.session if s == 0 else s, line, text] for s, line, text in theirs]
                self.assertEqual(ours, theirs)
                expect_empty = request.get("n") == 0 or request.get("pattern") == "nothing*"
                self.assertEqual(len(ours) == 0, expect_empty, ours)

    def test_range_with_tail_session_number(self):
        # jupyter_kernel_test's check: a range asked for with the session `tail` reported comes back with it
        ours = history(self.kernels["efflab"][1], hist_access_type="range", session=self.session, start=3, stop=4)
        self.assertEqual(ours, [[self.session, 3, "6*7"]])

    def test_output_pairs(self):
        ours = history(self.kernels["efflab"][1], hist_access_type="tail", n=2)
        msg_id = self.kernels["efflab"][1].history(raw=True, output=True, hist_access_type="tail", n=2)
        pairs = shell_reply(self.kernels["efflab"][1], msg_id)["content"]["history"]
        self.assertEqual([[s, line, pair[0]] for s, line, pair in pairs], ours)
        self.assertEqual(pairs[-1][2][1], "[ 1, 2 ]")


if __name__ == "__main__":
    unittest.main(verbosity=2)
