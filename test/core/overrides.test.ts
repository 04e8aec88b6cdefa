import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findOverride, indexOverrides, matchesPattern, type Override } from '../../src/core/overrides.ts';

let n = 0;
const o = (identifier: string, createdAt = ++n): Override => ({
  id: `rlor_${identifier}`,
  identifier,
  limit: 1,
  duration: 1000,
  createdAt,
});

describe('override matching', () => {
  it('matches * against any run of characters, including none', () => {
    assert.equal(matchesPattern('premium_*', 'premium_42'), true);
    assert.equal(matchesPattern('premium_*', 'premium_'), true);
    assert.equal(matchesPattern('premium_*', 'basic_42'), false);
    assert.equal(matchesPattern('*_admin', 'root_admin'), true);
    assert.equal(matchesPattern('*_admin', 'root_admins'), false);
    assert.equal(matchesPattern('*sus*', 'a-sus-b'), true);
    assert.equal(matchesPattern('a*b*c', 'aXXbYYc'), true);
    assert.equal(matchesPattern('a*b*c', 'aXXcYYb'), false);
    assert.equal(matchesPattern('*', 'line\nbreak'), true);
  });

  it('treats every other character literally', () => {
    assert.equal(matchesPattern('1.2.3.*', '1.2.3.4'), true);
    assert.equal(matchesPattern('1.2.3.*', '1x2x3x4'), false);
    assert.equal(matchesPattern('(a)+[b]?*', '(a)+[b]?z'), true);
    assert.equal(matchesPattern('(a)+*', 'aa'), false);
  });

  it('prefers the exact identifier over any wildcard', () => {
    const index = indexOverrides([o('user_*', 1), o('user_1', 2), o('*', 0)]);
    assert.equal(findOverride(index, 'user_1')?.identifier, 'user_1');
    assert.equal(findOverride(index, 'user_2')?.identifier, 'user_*');
  });

  it('among wildcards, prefers the one with the most literal characters, then the oldest', () => {
    const index = indexOverrides([o('*', 1), o('user_*', 5), o('user_1*', 6), o('*_1?', 2), o('us*_1*', 3)]);
    assert.equal(findOverride(index, 'user_12')?.identifier, 'user_1*');
    assert.equal(findOverride(index, 'user_99')?.identifier, 'user_*');
    assert.equal(findOverride(index, 'nobody')?.identifier, '*');
    const tie = indexOverrides([o('b*', 9), o('*a', 4)]);
    assert.equal(findOverride(tie, 'ba')?.identifier, '*a');
  });

  it('finds nothing when nothing matches', () => {
    assert.equal(findOverride(indexOverrides([o('x_*'), o('y')]), 'z'), undefined);
    assert.equal(findOverride(indexOverrides([]), 'z'), undefined);
  });
});
