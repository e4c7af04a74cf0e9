import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { parse } from "yaml";

/**
 * The Compose Specification JSON schema (compose-spec/compose-spec, schema/compose-spec.json), as shipped by the npm
 * package `dclint` (Docker Compose linter) in `schemas/compose.schema.json`. dclint's exports do not include the
 * schema file, so it is read from beside dclint's package.json.
 */
export function composeSchemaPath(): string {
  const dclintPackageJson = createRequire(import.meta.url).resolve("dclint/package.json");
  return join(dirname(dclintPackageJson), "schemas", "compose.schema.json");
}

export function loadComposeSchema(): Record<string, unknown> {
  const schema = JSON.parse(readFileSync(composeSchemaPath(), "utf8")) as Record<string, unknown>;
  // The schema is draft-07 but names its meta-schema https://json-schema.org/draft-07/schema; Ajv knows draft-07 by
  // its canonical id.
  return { ...schema, $schema: "http://json-schema.org/draft-07/schema#" };
}

export type ComposeValidator = (document: unknown) => ErrorObject[];

export function createComposeValidator(): ComposeValidator {
  // The schema uses union types (`type: [string, number]`) and leaves `type: object` implicit in places; strict mode
  // stays on otherwise (an unknown keyword in the schema is an error).
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  const validate = ajv.compile(loadComposeSchema());
  return (document) => (validate(document) ? [] : [...(validate.errors ?? [])]);
}

export function formatSchemaErrors(errors: readonly ErrorObject[]): string[] {
  return errors.map((error) => `${error.instancePath || "/"} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`);
}

/** Parses a Compose file as Compose does: YAML with `<<` merge keys resolved. */
export function parseComposeYaml(text: string): unknown {
  return parse(text, { merge: true }) as unknown;
}

/**
 * Compose's variable interpolation, applied to every string: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+replacement}`, `${VAR+replacement}`, `$VAR`, `$$` for a literal `$`.
 * With an empty `env` it yields the file as Compose reads it when nothing is set (every default applied).
 */
export function interpolate<T>(value: T, env: Readonly<Record<string, string>> = {}): T {
  if (typeof value === "string") return interpolateString(value, env) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, env)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)])) as T;
  }
  return value;
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function interpolateString(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(VARIABLE, (match, braced: string | undefined, operator: string | undefined, argument: string | undefined, bare: string | undefined) => {
    if (match === "$$") return "$";
    const name = braced ?? bare!;
    const value = env[name];
    const isSet = value !== undefined;
    const isSetAndNonEmpty = isSet && value !== "";
    switch (operator) {
      case undefined:
        return value ?? "";
      case ":-":
        return isSetAndNonEmpty ? value : interpolateString(argument ?? "", env);
      case "-":
        return isSet ? value : interpolateString(argument ?? "", env);
      case ":?":
      case "?":
        if (operator === ":?" ? isSetAndNonEmpty : isSet) return value!;
        throw new Error(`required variable ${name} is missing a value: ${argument ?? ""}`);
      case ":+":
        return isSetAndNonEmpty ? interpolateString(argument ?? "", env) : "";
      case "+":
        return isSet ? interpolateString(argument ?? "", env) : "";
      default:
        throw new Error(`unsupported interpolation ${match}`);
    }
  });
}

/** Compose durations such as `10s`, `1m30s`, `1h`, `500ms`, in seconds. */
export function durationSeconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000_001 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== duration) {
    throw new Error(`not a Compose duration: ${JSON.stringify(duration)}`);
  }
  return parts.reduce((total, part) => total + Number(part[1]) * units[part[2]!]!, 0);
}
