// The wire protocol: signing, verification and frame layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decode, DELIMITER, encode, Signer } from '../../kernel/src/wire';
import { Session } from '../../kernel/src/session';

const signer = new Signer('secret-key');
const session = new Session();

test('encode then decode returns the same message, identities and buffers', () => {
  const msg = session.message(
    'comm_msg',
    { comm_id: 'c1', data: { x: 1 } },
    {},
    { identities: [Buffer.from('peer')], buffers: [Buffer.from([1, 2, 3])] },
  );
  const frames = encode(msg, signer);
  assert.ok(frames[1].equals(DELIMITER));
  const back = decode(frames, signer);
  assert.ok(back.ok);
  if (!back.ok) return;
  assert.deepEqual(back.message.content, { comm_id: 'c1', data: { x: 1 } });
  assert.equal(back.message.header.msg_type, 'comm_msg');
  assert.deepEqual(back.message.identities, [Buffer.from('peer')]);
  assert.deepEqual(back.message.buffers, [Buffer.from([1, 2, 3])]);
});

test('signature is HMAC-SHA256 over header, parent, metadata, content', () => {
  const frames = encode(session.message('status', { execution_state: 'idle' }, {}), signer);
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  // Computed independently of wire.ts, with Node's crypto, as the Jupyter spec defines it.
  const hmac = createHmac('sha256', 'secret-key');
  for (const part of frames.slice(at + 2, at + 6)) hmac.update(part);
  assert.equal(frames[at + 1].toString(), hmac.digest('hex'));
  // Verification the other way: frames signed here, not by wire.ts, are accepted; signed with
  // another key, rejected.
  const parts = [
    '{"msg_id":"m1","msg_type":"status","session":"s","username":"u","date":"d","version":"5.3"}',
    '{}',
    '{}',
    '{"execution_state":"busy"}',
  ];
  const expected = createHmac('sha256', 'secret-key').update(parts.join('')).digest('hex');
  // The same digest from Python: jupyter_client's Session(key=b'secret-key').sign(parts).
  assert.equal(expected, '7a9efc9cbd7e87c177881fa1a09509ebdae1e467d1be3e3fad0a1051ee89ae40');
  const signed = [DELIMITER, Buffer.from(expected), ...parts.map((p) => Buffer.from(p))];
  assert.ok(decode(signed, signer).ok);
  const forged = [
    DELIMITER,
    Buffer.from(createHmac('sha256', 'other').update(parts.join('')).digest('hex')),
    ...parts.map((p) => Buffer.from(p)),
  ];
  assert.equal(decode(forged, signer).ok, false);
});

test('a tampered frame or a wrong key is rejected before JSON parsing', () => {
  const frames = encode(session.message('execute_request', { code: '1' }, {}), signer);
  const tampered = [...frames];
  tampered[5] = Buffer.from('{"code":"process.exit()"}');
  const r1 = decode(tampered, signer);
  assert.equal(r1.ok, false);
  if (!r1.ok) assert.equal(r1.reason, 'bad-signature');
  const r2 = decode(frames, new Signer('other-key'));
  assert.equal(r2.ok, false);
});

test('malformed frames are classified, never thrown', () => {
  const cases: Buffer[][] = [
    [Buffer.from('a'), Buffer.from('b')],
    [DELIMITER, Buffer.from('x')],
    [
      DELIMITER,
      Buffer.from(''),
      Buffer.from('{bad'),
      Buffer.from('{}'),
      Buffer.from('{}'),
      Buffer.from('{}'),
    ],
  ];
  const empty = new Signer('');
  const reasons = cases.map((c) => {
    const r = decode(c, empty);
    return r.ok ? 'ok' : r.reason;
  });
  assert.deepEqual(reasons, ['no-delimiter', 'too-few-frames', 'bad-json']);
  const noType = [
    DELIMITER,
    Buffer.from(''),
    Buffer.from('{"msg_id":"1"}'),
    Buffer.from('{}'),
    Buffer.from('{}'),
    Buffer.from('{}'),
  ];
  const r = decode(noType, empty);
  assert.equal(r.ok ? 'ok' : r.reason, 'bad-header');
});

test('an empty key disables signing (as the spec allows)', () => {
  const open = new Signer('');
  const frames = encode(session.message('status', {}, {}), open);
  assert.equal(frames[1].toString(), '');
  assert.ok(decode(frames, open).ok);
});

test('replies carry the request header as parent and its identities', () => {
  const req = session.message('kernel_info_request', {}, {}, { identities: [Buffer.from('id')] });
  const rep = session.reply(req, { status: 'ok' });
  assert.equal(rep.header.msg_type, 'kernel_info_reply');
  assert.equal(rep.parent_header.msg_id, req.header.msg_id);
  assert.deepEqual(rep.identities, [Buffer.from('id')]);
  assert.equal(rep.header.version, '5.3');
});
