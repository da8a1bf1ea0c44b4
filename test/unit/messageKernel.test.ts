/**
 * The message kernel every webview channel runs on (common/messageKernel.ts): validation by a
 * validator per message type with a one-line reason, request ids and replies matched to their
 * requests in any order, and the ready queue that hands back what was posted before `ready`, in
 * order.
 */
import assert from 'node:assert/strict';
import { checkMessage, intList, PendingRequests, ReadyQueue, type MessageValidators } from '../../common/messageKernel';

type Ping = { type: 'ready' } | { type: 'ping'; n: number };
const validators: MessageValidators<Ping> = {
  ready: () => ({ type: 'ready' }),
  ping: (m) => (typeof m.n === 'number' && Number.isInteger(m.n) ? { type: 'ping', n: m.n } : undefined),
};

type Reply = { type: 'pong'; requestId: number; n: number } | { type: 'error'; requestId?: number; message: string } | { type: 'note'; text: string };

describe('message kernel', () => {
  it('accepts a well-formed message as a fresh object with only its declared fields', () => {
    const raw = { type: 'ping', n: 3, path: '/etc/passwd' };
    const c = checkMessage(validators, raw);
    assert.deepEqual(c, { ok: true, message: { type: 'ping', n: 3 } });
    assert.ok(c.ok && c.message !== raw);
  });

  it('rejects non-objects, unknown and prototype types, and malformed fields, each with a one-line reason', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /^not a message object \(undefined\)$/],
      [null, /^not a message object \(null\)$/],
      ['ready', /^not a message object \(string\)$/],
      [[{ type: 'ready' }], /^not a message object \(array\)$/],
      [{ type: 'pong' }, /^unknown message type "pong"$/],
      [{ type: '__proto__' }, /^unknown message type "__proto__"$/],
      [{ type: 'constructor' }, /^unknown message type "constructor"$/],
      [{ type: 'toString' }, /^unknown message type "toString"$/],
      [{ type: 7 }, /^unknown message type of type number$/],
      [{}, /^unknown message type of type undefined$/],
      [{ type: 'ping', n: 1.5 }, /^malformed "ping" message$/],
      [{ type: 'ping' }, /^malformed "ping" message$/],
      [{ type: 'x'.repeat(10_000) }, /^unknown message type "x{40}"$/],
      [{ type: 'a\nb' }, /^unknown message type "a\\nb"$/],
    ];
    for (const [raw, reason] of cases) {
      const c = checkMessage(validators, raw);
      assert.equal(c.ok, false, JSON.stringify(raw)?.slice(0, 60));
      if (!c.ok) {
        assert.match(c.reason, reason);
        assert.ok(!c.reason.includes('\n'));
      }
    }
  });

  it('intList takes whole numbers in range, index by index (holes in a sparse array fail)', () => {
    assert.deepEqual(intList([1, 2, 3], 1, 3, 3), [1, 2, 3]);
    // eslint-disable-next-line no-sparse-arrays
    for (const bad of [[1, , 3], [0], [4], [1.5], ['1'], [], [1, 1, 1, 1], { 0: 1, length: 1 }, null]) assert.equal(intList(bad, 1, 3, 3), undefined, JSON.stringify(bad));
  });

  it('numbers requests 1, 2, 3 and matches each reply to its request whatever the order', async () => {
    const pending = new PendingRequests<Reply>();
    const sent: number[] = [];
    const asks = [10, 20, 30].map((n) => pending.request<Extract<Reply, { type: 'pong' }>>((id) => sent.push(id)).then((r) => [n, r.n]));
    assert.deepEqual(sent, [1, 2, 3]);
    assert.equal(pending.size, 3);
    // Replies come back out of order; each carries its request's id and the request's n times 2.
    for (const [id, n] of [[3, 30], [1, 10], [2, 20]]) assert.equal(pending.settle({ type: 'pong', requestId: id, n: n * 2 }), true);
    assert.deepEqual(await Promise.all(asks), [[10, 20], [20, 40], [30, 60]]);
    assert.equal(pending.size, 0);
  });

  it('an error reply rejects its request; replies no one waits for and events are not claimed', async () => {
    const pending = new PendingRequests<Reply>();
    let id = -1;
    const ask = pending.request((i) => (id = i));
    assert.equal(pending.settle({ type: 'pong', requestId: id + 1, n: 0 }), false, 'an id never asked');
    assert.equal(pending.settle({ type: 'note', text: 'hi' }), false, 'an event');
    assert.equal(pending.settle({ type: 'error', message: 'not an answer' }), false, 'an error event with no id');
    assert.equal(pending.settle({ type: 'error', requestId: id, message: 'capture c1 was not shown in this panel' }), true);
    await assert.rejects(ask, /^Error: capture c1 was not shown in this panel$/);
    assert.equal(pending.settle({ type: 'pong', requestId: id, n: 1 }), false, 'a second reply to a settled request');
  });

  it('a request whose sending throws rejects and is forgotten', async () => {
    const pending = new PendingRequests<Reply>();
    await assert.rejects(pending.request(() => {
      throw new Error('webview disposed');
    }), /webview disposed/);
    assert.equal(pending.size, 0);
  });

  it('the ready queue holds posts until the page is ready, hands them back in order, then posts straight on', () => {
    const sent: number[] = [];
    const q = new ReadyQueue<number>((m) => sent.push(m));
    for (const m of [1, 2, 3]) q.post(m);
    assert.deepEqual(sent, []);
    assert.equal(q.ready, false);
    assert.deepEqual(q.open(), [1, 2, 3]);
    q.post(4);
    assert.deepEqual(sent, [4]);
    assert.deepEqual(q.open(), [], 'the queue was emptied');
    q.close();
    q.post(5);
    assert.deepEqual(sent, [4]);
    assert.deepEqual(q.open(), [5]);
  });
});
