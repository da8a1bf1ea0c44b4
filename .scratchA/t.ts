import { GraphBuilder } from '../server/onnx/graphBuilder';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import * as fs from 'fs';
const g = new GraphBuilder('t');
const x = g.input('x', 'float32', [2]);
const w = g.f32('w', [2], [3, 4]);
g.node('Mul', [x, w], { outputs: ['y'] });
g.output('y');
const m = onnx.ModelProto.create(g.toModel());
const t = m.graph!.initializer![0];
fs.writeFileSync('/tmp/ext/w.bin', Buffer.from(t.rawData!));
t.rawData = new Uint8Array(0);
t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
t.externalData = [{ key: 'location', value: process.argv[2] }, { key: 'offset', value: '0' }, { key: 'length', value: '8' }];
const bytes = onnx.ModelProto.encode(m).finish();
(async () => {
  try {
    const s = await ort.InferenceSession.create(bytes);
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]) });
    console.log('bytes ok', r.y.data);
  } catch (e) { console.log('bytes fail', String(e).slice(0, 300)); }
  fs.writeFileSync('/tmp/ext/m.onnx', bytes);
  try {
    const s = await ort.InferenceSession.create('/tmp/ext/m.onnx');
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]) });
    console.log('file ok', r.y.data);
  } catch (e) { console.log('file fail', String(e).slice(0, 300)); }
})();
