import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventChunk, decodeChunk, encodeEvents } from '../../src/analytics/chunk.ts';
import { EventBuffer } from '../../src/analytics/buffer.ts';
import { toColumns } from './events.ts';
import type { VerificationEvent } from '../../src/analytics/types.ts';

function event(i: number, fields: Partial<VerificationEvent> = {}): VerificationEvent {
  return {
    requestId: `req_${i}`,
    time: Date.UTC(2031, 4, 1) + i * 17,
    workspaceId: `ws_${i % 3}`,
    keySpaceId: i % 5 === 0 ? '' : 'ks_1',
    keyId: i % 5 === 0 ? '' : `key_${i % 7}`,
    identityId: i % 2 ? `id_${i % 4}` : '',
    externalId: i % 2 ? `üser-${i % 4}-☃` : '',
    outcome: ['VALID', 'RATE_LIMITED', 'NOT_FOUND'][i % 3],
    tags: Array.from({ length: i % 21 }, (_, t) => `tag-${t}-${i % 2 ? 'é' : 'e'}`),
    spentCredits: i % 4 === 0 ? 1_000_000_000_000 : i % 3,
    latency: i / 7,
    nodeId: 'node-a',
    ...fields,
  };
}

describe('EventChunk', () => {
  it('gives back every field of every event, in order', () => {
    const events = Array.from({ length: 500 }, (_, i) => event(i));
    // Long request ids make the chunk grow its byte buffer.
    events[3] = event(3, { requestId: `req_${'x'.repeat(5_000)}` });
    events[4] = event(4, { requestId: 'req_ünïcode_☃' });
    const chunks = encodeEvents(events, 200);
    assert.deepEqual(chunks.map((c) => c.count), [200, 200, 100]);
    const decoded = chunks.map((c) => decodeChunk(structuredClone(c.serialize())));
    const expected = toColumns(events);
    for (const field of Object.keys(expected) as (keyof typeof expected)[]) {
      assert.deepEqual(decoded.flatMap((d) => d[field] as unknown[]), expected[field], field);
    }
  });

  it('forgets the newest events when truncated, tags included', () => {
    const chunk = new EventChunk(10);
    for (let i = 0; i < 6; i++) chunk.append(event(i));
    chunk.truncate(4);
    chunk.append(event(40));
    const decoded = chunk.toColumns();
    assert.deepEqual(decoded.requestId, ['req_0', 'req_1', 'req_2', 'req_3', 'req_40']);
    assert.deepEqual(decoded.tags[4], event(40).tags);
  });
});

describe('EventBuffer', () => {
  it('drops and counts events beyond its capacity', () => {
    const buffer = new EventBuffer(5, 2);
    for (let i = 0; i < 8; i++) buffer.push(event(i));
    assert.deepEqual([buffer.length, buffer.accepted, buffer.dropped], [5, 5, 3]);
  });

  it('hands out whole chunks up to the asked number of events, and never changes one it handed out', () => {
    const buffer = new EventBuffer(100, 3);
    for (let i = 0; i < 7; i++) buffer.push(event(i));
    const first = buffer.take(6);
    assert.deepEqual(first.map((c) => c.count), [3, 3]);
    const last = buffer.take(6);
    assert.deepEqual(last.map((c) => c.count), [1]);
    buffer.push(event(7));
    assert.equal(last[0].count, 1, 'a taken chunk takes no more events');
    assert.equal(buffer.length, 1);
  });

  it('seals the chunk being filled, so later events go to a new chunk', () => {
    const buffer = new EventBuffer(100, 4);
    buffer.push(event(0));
    buffer.seal();
    buffer.push(event(1));
    assert.deepEqual(buffer.take(1).map((c) => c.toColumns().requestId), [['req_0']]);
    assert.equal(buffer.length, 1);
  });

  it('puts chunks back in front after a failed write, as far as capacity allows', () => {
    const buffer = new EventBuffer(5, 2);
    for (let i = 0; i < 4; i++) buffer.push(event(i));
    const taken = buffer.take(4);
    for (let i = 4; i < 7; i++) buffer.push(event(i));
    buffer.restore(taken);
    assert.equal(buffer.length, 5);
    assert.equal(buffer.dropped, 2);
    const ids = buffer.take(100).flatMap((c) => c.toColumns().requestId);
    assert.deepEqual(ids, ['req_0', 'req_1', 'req_4', 'req_5', 'req_6']);
  });
});
