// The key that encrypts stored secrets (OPTIO_SECRET_KEY): `npm start` creates it once in
// .optio/secret-key (mode 0600) and reuses it; losing it makes the stored secrets unreadable.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { log } from "./system.mjs";

/** OPTIO_SECRET_KEY from the environment, else the key kept in `dataDir` (created the first time). */
export function ensureSecretKey(dataDir, env = process.env) {
  if (env.OPTIO_SECRET_KEY) return env.OPTIO_SECRET_KEY;
  const file = path.join(dataDir, "secret-key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const key = randomBytes(32).toString("base64");
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  log(`created the secret key ${path.relative(process.cwd(), file)}: back it up, stored secrets need it`);
  return key;
}
