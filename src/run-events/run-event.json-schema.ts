import { z } from 'zod';
import { runEventSchema } from './run-event.schema';

/** The run event contract as JSON Schema, for producers written in other languages. */
export function runEventJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://coffeebuddy.example/schemas/run-event.schema.json',
    title: 'CoffeeBuddy run event',
    ...z.toJSONSchema(runEventSchema, { target: 'draft-2020-12', io: 'input' }),
  };
}
