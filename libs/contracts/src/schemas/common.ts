import Joi from "joi";
import type { Problem } from "../errors.js";

/** Validate with every problem reported, unknown keys refused, and values converted (trim, lowercase). */
export function validate<T>(schema: Joi.Schema<T>, value: unknown): { value: T; problems?: Problem[] } {
  const { value: converted, error } = schema.validate(value, { abortEarly: false, stripUnknown: false, convert: true });
  if (!error) return { value: converted as T };
  const problems = error.details.map((d) => ({ path: d.path.join(".") || "(root)", message: d.message.replace(/"/g, "'") }));
  return { value: converted as T, problems };
}

export const uuid = Joi.string().guid({ version: ["uuidv4", "uuidv7"] });
export const emptyObject = Joi.object({}).unknown(false);
