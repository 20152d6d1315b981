"""Comms driven from a real client (jupyter_client): both directions, binary buffers, comm_info,
closing from either side, and a cell that awaits the frontend's answer on a comm."""

import unittest
import uuid

from kernel_client import TIMEOUT, iopub_until_idle, result_text, run, shell_reply, start


class CommRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start()

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def send_shell(self, msg_type, content, buffers=None):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=buffers)
        return msg["header"]["msg_id"]

    def next_iopub(self, msg_type, predicate=lambda m: True):
        while True:
            msg = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["msg_type"] == msg_type and predicate(msg):
                return msg

    def comm_info(self, target=None):
        content = {} if target is None else {"target_name": target}
        msg_id = self.send_shell("comm_info_request", content)
        reply = shell_reply(self.kc, msg_id)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        return reply["content"]["comms"]

    def test_cell_awaits_comm_answer(self):
        code = (
            "import { openComm } from 'efflab';\n"
            "const ask = openComm('efflab.test.ask', { question: 'your name?' });\n"
            "const answer = await ask.nextMessage({ timeoutMs: 20000 });\n"
            "ask.close({ thanks: true });\n"
            "`got ${answer.data.name}; ${answer.buffers.length} buffer of ${answer.buffers[0].length} bytes, sum ${answer.buffers[0].reduce((a, b) => a + b, 0)}`"
        )
        msg_id = self.kc.execute(code)
        opened = self.next_iopub("comm_open", lambda m: m["content"]["target_name"] == "efflab.test.ask")
        self.assertEqual(opened["content"]["data"], {"question": "your name?"})
        self.assertEqual(opened["parent_header"]["msg_id"], msg_id)
        comm_id = opened["content"]["comm_id"]
        # The cell is still running: the kernel answers comm_info meanwhile.
        self.assertIn(comm_id, self.comm_info("efflab.test.ask"))
        self.send_shell("comm_msg", {"comm_id": comm_id, "data": {"name": "Ada"}}, buffers=[bytes([1, 2, 3, 4])])
        reply = shell_reply(self.kc, msg_id)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        outs = iopub_until_idle(self.kc, msg_id)
        closes = [m for m in outs if m["msg_type"] == "comm_close"]
        self.assertEqual(closes[0]["content"], {"comm_id": comm_id, "data": {"thanks": True}})
        self.assertEqual(result_text(outs), "'got Ada; 1 buffer of 4 bytes, sum 10'")
        self.assertNotIn(comm_id, self.comm_info())

    def test_status_stays_busy_while_cell_runs_with_comm_traffic(self):
        """Requests answered while a cell runs (comm_msg, comm_info) must not make the status
        flicker to idle: as with ipykernel, the first idle after the cell's busy is the cell's."""
        code = (
            "import { openComm } from 'efflab';\n"
            "const probe = openComm('efflab.test.status', {});\n"
            "const first = await probe.nextMessage({ timeoutMs: 20000 });\n"
            "const second = await probe.nextMessage({ timeoutMs: 20000 });\n"
            "probe.close();\n"
            "Number(first.data.n) + Number(second.data.n)"
        )
        msg_id = self.kc.execute(code)
        statuses = []

        def next_iopub_recording(msg_type, predicate=lambda m: True):
            while True:
                msg = self.kc.get_iopub_msg(timeout=TIMEOUT)
                if msg["msg_type"] == "status":
                    statuses.append((msg["content"]["execution_state"], msg["parent_header"].get("msg_id")))
                if msg["msg_type"] == msg_type and predicate(msg):
                    return msg

        opened = next_iopub_recording("comm_open", lambda m: m["content"]["target_name"] == "efflab.test.status")
        comm_id = opened["content"]["comm_id"]
        request_ids = [self.send_shell("comm_msg", {"comm_id": comm_id, "data": {"n": 1}})]
        request_ids.append(self.send_shell("comm_info_request", {}))
        info = shell_reply(self.kc, request_ids[-1])
        self.assertIn(comm_id, info["content"]["comms"])  # answered while the cell still runs
        request_ids.append(self.send_shell("comm_msg", {"comm_id": comm_id, "data": {"n": 2}}))
        reply = shell_reply(self.kc, msg_id)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        # read on until every request's idle has come
        pending = set(request_ids) | {msg_id}
        while pending:
            msg = next_iopub_recording("status", lambda m: m["content"]["execution_state"] == "idle")
            pending.discard(msg["parent_header"].get("msg_id"))
        cell_busy = statuses.index(("busy", msg_id))
        first_idle = next(i for i, (state, _) in enumerate(statuses) if state == "idle" and i > cell_busy)
        self.assertEqual(statuses[first_idle], ("idle", msg_id), statuses)
        for rid in request_ids:  # each request still gets its busy and, after the cell's, its idle
            self.assertIn(("busy", rid), statuses)
            self.assertGreater(statuses.index(("idle", rid)), first_idle)

    def test_frontend_opened_comm_with_buffers(self):
        reply, _ = run(
            self.kc,
            "import { registerCommTarget } from 'efflab';\n"
            "registerCommTarget('efflab.test.echo', (comm, open) => {\n"
            "  comm.send({ opened: open.data });\n"
            "  comm.onMessage((m) => comm.send({ echo: m.data, sizes: m.buffers.map((b) => b.length) }, { buffers: m.buffers }));\n"
            "  comm.onClose((m) => console.log('closed by frontend', JSON.stringify(m.data)));\n"
            "});",
        )
        self.assertEqual(reply["status"], "ok", reply)
        comm_id = uuid.uuid4().hex
        self.send_shell("comm_open", {"comm_id": comm_id, "target_name": "efflab.test.echo", "data": {"hello": 1}})
        first = self.next_iopub("comm_msg", lambda m: m["content"]["comm_id"] == comm_id)
        self.assertEqual(first["content"]["data"], {"opened": {"hello": 1}})
        self.assertEqual(self.comm_info()[comm_id], {"target_name": "efflab.test.echo"})
        payload = bytes(range(256)) * 4
        self.send_shell("comm_msg", {"comm_id": comm_id, "data": {"n": 7}}, buffers=[payload, b"xy"])
        echo = self.next_iopub("comm_msg", lambda m: m["content"]["comm_id"] == comm_id)
        self.assertEqual(echo["content"]["data"], {"echo": {"n": 7}, "sizes": [1024, 2]})
        self.assertEqual([bytes(b) for b in echo["buffers"]], [payload, b"xy"])
        self.send_shell("comm_close", {"comm_id": comm_id, "data": {"bye": True}})
        closed = self.next_iopub("stream", lambda m: "closed by frontend" in m["content"]["text"])
        self.assertIn('{"bye":true}', closed["content"]["text"])
        self.assertNotIn(comm_id, self.comm_info())

    def test_unknown_target_is_closed(self):
        comm_id = uuid.uuid4().hex
        self.send_shell("comm_open", {"comm_id": comm_id, "target_name": "no.such.target", "data": {}})
        closed = self.next_iopub("comm_close", lambda m: m["content"]["comm_id"] == comm_id)
        self.assertIn("no comm target", closed["content"]["data"]["error"])

    def test_handler_error_leaves_kernel_alive(self):
        run(
            self.kc,
            "import { registerCommTarget } from 'efflab';\n"
            "registerCommTarget('efflab.test.bad', (comm) => { comm.onMessage(() => { throw new Error('handler broke'); }); });",
        )
        comm_id = uuid.uuid4().hex
        self.send_shell("comm_open", {"comm_id": comm_id, "target_name": "efflab.test.bad", "data": {}})
        self.send_shell("comm_msg", {"comm_id": comm_id, "data": {}})
        err = self.next_iopub("stream", lambda m: "handler broke" in m["content"]["text"])
        self.assertEqual(err["content"]["name"], "stderr")
        reply, outs = run(self.kc, "1 + 1")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(result_text(outs), "2")


if __name__ == "__main__":
    unittest.main(verbosity=2)
