// Entry point: `node api/src/cli/api-keys.ts create|list|revoke …` (REDIS_URL and QUEUE_PREFIX from the environment).
import { runApiKeysCli } from "./api-keys-command.ts";

const exitCode = await runApiKeysCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = exitCode;
