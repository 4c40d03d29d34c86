import { z } from 'zod';

/**
 * Small zod building blocks for environment variables. Each one names what it
 * expects in its error message, because that message is what an operator
 * reads when the pod refuses to start.
 */

/** An integer from min to max; undefined when unset. */
export const optionalIntegerVar = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): number | undefined => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const value = Number(raw);
      if (!/^\s*-?\d+\s*$/.test(raw) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    });

export const integerVar = (min: number, max: number, fallback: number) =>
  optionalIntegerVar(min, max).transform((value) => value ?? fallback);

export const enumVar = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      const value = raw === undefined || raw.trim() === '' ? fallback : raw.trim().toLowerCase();
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
        return z.NEVER;
      }
      return value as T[number];
    });

export const booleanVar = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(value)) return true;
      if (['false', '0', 'no'].includes(value)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    });

/** An optional http(s) base URL, returned without a trailing slash. */
export const baseUrlVar = () =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL such as https://vault.internal:8200' });
        return z.NEVER;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: 'must use http or https' });
        return z.NEVER;
      }
      return url.toString().replace(/\/+$/, '');
    });

export const optionalText = () =>
  z
    .string()
    .optional()
    .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

export const textVar = (fallback: string, pattern: RegExp, expected: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw === undefined || raw.trim() === '' ? fallback : raw.trim();
      if (!pattern.test(value)) {
        ctx.addIssue({ code: 'custom', message: `must be ${expected}` });
        return z.NEVER;
      }
      return value;
    });
