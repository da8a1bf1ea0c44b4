/**
 * The one rule every side uses to show an error in one line (common/errors.ts), and the
 * cancellation check (common/cancellation.ts).
 */
import { strict as assert } from 'node:assert';
import { CancelledError, isRequestCancelled } from '../../common/cancellation';
import { ERROR_LINE_MAX, UserError, firstLine } from '../../common/errors';

describe('error lines', () => {
  it('keeps the first non-blank line, trimmed, of an Error or of anything thrown', () => {
    assert.equal(firstLine(new Error('\n  \n  model.onnx: bad magic  \n    at parse (x.js:1:1)')), 'model.onnx: bad magic');
    assert.equal(firstLine('plain text'), 'plain text');
    assert.equal(firstLine(42), '42');
    assert.equal(firstLine(new UserError('x.json: not JSON; fix the file')), 'x.json: not JSON; fix the file');
  });

  it('cuts a long line in the middle, keeping the file at the start and the fix at the end', () => {
    const start = 'model.onnx: onnxruntime cannot load the model: ';
    const end = '; re-export with opset 17';
    const line = start + 'x'.repeat(1000) + end;
    const shown = firstLine(new Error(line));
    assert.equal(shown.length, ERROR_LINE_MAX);
    assert.ok(shown.startsWith(start), shown);
    assert.ok(shown.endsWith(end), shown);
    const [head, tail, ...more] = shown.split('…');
    assert.equal(more.length, 0);
    assert.ok(line.startsWith(head) && line.endsWith(tail));
    const exact = 'y'.repeat(ERROR_LINE_MAX);
    assert.equal(firstLine(exact), exact);
  });

  it('tells a cancelled request from a failed one', () => {
    assert.ok(isRequestCancelled(new CancelledError()));
    assert.ok(isRequestCancelled({ code: -32800, message: 'Request cancelled' }));
    assert.ok(!isRequestCancelled({ code: -32803, message: 'RequestFailed' }));
    assert.ok(!isRequestCancelled(new UserError('cancelled')));
    assert.ok(!isRequestCancelled(undefined));
  });
});
