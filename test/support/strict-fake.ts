/** A fake that fails loudly on any method nobody set up, instead of returning undefined. */
export function strictFake<T extends object>(implementation: Partial<T>): T {
  return new Proxy(implementation, {
    get(target, property, receiver) {
      if (property in target || property === 'then' || typeof property === 'symbol') {
        return Reflect.get(target, property, receiver);
      }
      throw new Error(`strict fake: unexpected access to ${String(property)}`);
    },
  }) as T;
}
