import { describe, expect, it } from 'vitest';
import { filterCovers } from './topic-filter.ts';

describe('filterCovers', () => {
  it.each([
    ['envmon/v1/+/data', 'envmon/v1/S1/data', true],
    ['envmon/v1/+/data', 'envmon/v1/+/data', true],
    ['envmon/v1/+/data', 'envmon/v1/#', false],
    ['envmon/v1/+/data', 'envmon/v1/S1/status', false],
    ['envmon/v1/+/data', 'envmon/v1/S1/data/x', false],
    ['envmon/v1/#', 'envmon/v1/S1/cmd/result', true],
    ['envmon/v1/#', 'envmon/#', false],
    ['envmon/v1/S1/data', 'envmon/v1/+/data', false],
  ])('%s covers %s: %s', (allowed, requested, expected) => {
    expect(filterCovers(allowed, requested)).toBe(expected);
  });
});
