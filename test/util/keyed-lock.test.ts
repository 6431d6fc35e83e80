import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedLock } from '../../src/util/keyed-lock';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('KeyedLock: one key runs in call order, one at a time; other keys run alongside; a rejection does not block the next', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const job = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name}+`);
    await tick(ms);
    log.push(`${name}-`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = lock.run('a', job('a1', 30, true));
  const a2 = lock.run('a', job('a2', 5));
  const b1 = lock.run('b', job('b1', 5));
  assert.equal(lock.size, 2);
  await assert.rejects(a1, /a1/);
  assert.equal(await a2, 'a2');
  assert.equal(await b1, 'b1');
  assert.deepEqual(log, ['a1+', 'b1+', 'b1-', 'a1-', 'a2+', 'a2-']);
  await tick(0);
  assert.equal(lock.size, 0);
});
