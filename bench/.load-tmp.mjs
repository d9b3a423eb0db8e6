import { Pool } from 'undici';
const [origin, ns, seconds = '5', conc = '50', path = 'AddCount'] = process.argv.slice(2);
const pool = new Pool(origin, { connections: Number(conc) });
let n = 0, errs = 0; const end = Date.now() + Number(seconds) * 1000;
await Promise.all(Array.from({ length: Number(conc) }, async (_, w) => {
  while (Date.now() < end) {
    const i = n++;
    const body = path === 'GetCount' ? { namespace: ns, counter_name: `c${i % 100}` } : { namespace: ns, counter_name: `c${i % 100}`, delta: '1', idempotency_token: { generation_time: new Date().toISOString(), token: `t${w}-${i}` } };
    const r = await pool.request({ method: 'POST', path: `/v1/counter/${path}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const t = await r.body.text(); if (r.statusCode !== 200) { if (errs++ < 3) console.error(r.statusCode, t); }
  }
}));
console.log(`${n} calls, ${errs} errors, ${(n / Number(seconds)).toFixed(0)}/s`);
await pool.close();
