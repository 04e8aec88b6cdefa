import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BoundedCache } from '../../src/cache/boundedCache.ts';

describe('BoundedCache', () => {
  it('keeps what is read and evicts what was not read for a whole generation', () => {
    const cache = new BoundedCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2); // the young generation is full: {a, b} becomes the old one
    cache.set('c', 3);
    assert.equal(cache.get('a'), 1); // a is read and moves up: {c, a} becomes old, b (never read) is dropped
    cache.set('d', 4);
    cache.set('e', 5); // {d, e} becomes old, c and a are dropped
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('e'), 5);
    assert.ok(cache.size <= 4);
  });

  it('deletes and clears in both generations', () => {
    const cache = new BoundedCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.delete('a');
    cache.delete('c');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('c'), undefined);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.get('b'), undefined);
  });

  it('never holds more than its capacity and always returns the last value set for a key it holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete'), fc.integer({ min: 0, max: 30 }), fc.integer()), { maxLength: 300 }),
        (capacity, ops) => {
          const cache = new BoundedCache<number, number>(capacity);
          const truth = new Map<number, number>();
          for (const [op, key, value] of ops) {
            if (op === 'set') {
              cache.set(key, value);
              truth.set(key, value);
            } else if (op === 'delete') {
              cache.delete(key);
              truth.delete(key);
            } else {
              const got = cache.get(key);
              if (got !== undefined) assert.equal(got, truth.get(key));
            }
            assert.ok(cache.size <= capacity);
          }
        },
      ),
    );
  });

  it('keeps a recently set key', () => {
    const cache = new BoundedCache<number, number>(10);
    for (let i = 0; i < 1000; i++) {
      cache.set(i, i);
      assert.equal(cache.get(i), i);
    }
  });
});
