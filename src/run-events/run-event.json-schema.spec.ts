import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEventJsonSchema } from './run-event.json-schema';

describe('the exported JSON Schema', () => {
  it('matches the zod contract (regenerate with `npm run schemas`)', () => {
    const committed = JSON.parse(readFileSync(join(process.cwd(), 'schemas', 'run-event.schema.json'), 'utf8'));
    expect(committed).toEqual(runEventJsonSchema());
  });

  it('names every event type', () => {
    const types = (runEventJsonSchema().oneOf as Array<{ properties: { type: { const: string } } }>).map((v) => v.properties.type.const);
    expect(types).toEqual([
      'run.created',
      'run.order_placed',
      'run.order_updated',
      'run.order_cancelled',
      'run.closed',
      'run.cancelled',
      'run.reminder_due',
    ]);
  });
});
