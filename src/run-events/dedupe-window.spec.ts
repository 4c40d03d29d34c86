import { DedupeWindow } from './dedupe-window';

describe('DedupeWindow', () => {
  it('remembers the most recent ids up to its size and forgets the oldest', () => {
    const window = new DedupeWindow(2);
    window.add('a');
    window.add('b');
    expect(window.has('a') && window.has('b')).toBe(true);
    window.add('c');
    expect([window.has('a'), window.has('b'), window.has('c')]).toEqual([false, true, true]);
  });

  it('keeps forgetting the oldest id, in order, across many times its size', () => {
    const window = new DedupeWindow(3);
    for (let i = 0; i < 10; i += 1) window.add(`id-${i}`);
    expect(Array.from({ length: 10 }, (_, i) => window.has(`id-${i}`))).toEqual([...Array(7).fill(false), true, true, true]);
  });

  it('remembers nothing with a size of 0', () => {
    const window = new DedupeWindow(0);
    window.add('a');
    expect(window.has('a')).toBe(false);
  });
});
