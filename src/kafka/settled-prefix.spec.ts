import { SettledPrefix } from './settled-prefix';

describe('SettledPrefix', () => {
  it('grows only over messages that are all settled, whatever order they settle in', () => {
    const prefix = new SettledPrefix(['10', '11', '15', '16']);
    expect(prefix.lastOffset).toBeUndefined();
    expect(prefix.settle(2)).toBe(false);
    expect(prefix.settle(1)).toBe(false);
    expect(prefix.lastOffset).toBeUndefined();
    expect(prefix.settle(0)).toBe(true);
    expect([prefix.length, prefix.lastOffset]).toEqual([3, '15']);
    expect(prefix.settle(3)).toBe(true);
    expect([prefix.length, prefix.lastOffset]).toEqual([4, '16']);
  });

  it('has nothing to resolve for an empty batch', () => {
    expect(new SettledPrefix([]).lastOffset).toBeUndefined();
  });
});
