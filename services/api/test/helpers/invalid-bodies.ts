// Property-based bad input: from one valid body, generates bodies that are invalid in exactly one
// known place, and the path the API must name for it. Reusable for every body schema.
import fc from "fast-check";
import type { z } from "zod";

export type InvalidBody = { body: unknown; path: string };

const anyJson = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  fc.string({ minLength: 20_001, maxLength: 20_002 }),
);

/**
 * @param valid   a body the endpoint accepts
 * @param shape   the Zod shape of the body's fields (each checked on its own)
 * @param partial true for PATCH-like bodies where every field may be left out
 */
export function invalidBodies(
  valid: Record<string, unknown>,
  shape: Record<string, z.ZodType>,
  { partial = false }: { partial?: boolean } = {},
): fc.Arbitrary<InvalidBody> {
  const fields = Object.keys(shape);
  const wrongValue = fc
    .tuple(fc.constantFrom(...fields), anyJson)
    .filter(([field, value]) => !shape[field]!.safeParse(value).success)
    .map(([field, value]) => ({ body: { ...valid, [field]: value }, path: `body.${field}` }));
  const unknownField = fc
    .tuple(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,12}$/), anyJson)
    .filter(([key]) => !fields.includes(key) && !["__proto__", "constructor", "prototype"].includes(key))
    .map(([key, value]) => ({ body: { ...valid, [key]: value }, path: `body.${key}` }));
  const notAnObject = fc
    .oneof(fc.integer(), fc.string({ minLength: 1 }), fc.array(fc.integer(), { minLength: 1 }))
    .map((body) => ({ body, path: "body" }));
  const required = partial
    ? []
    : fields.filter((field) => !shape[field]!.safeParse(undefined).success && field in valid);
  const arbitraries: fc.Arbitrary<InvalidBody>[] = [wrongValue, unknownField, notAnObject];
  if (required.length > 0) {
    arbitraries.push(
      fc.constantFrom(...required).map((field) => {
        const body = { ...valid };
        delete body[field];
        return { body, path: `body.${field}` };
      }),
    );
  }
  return fc.oneof(...arbitraries);
}
