import pino, { type Logger } from "pino";

/** Removes `token` query parameters from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, "$1[REDACTED]");
}

/** pino with secrets redacted; pretty output is left to the terminal (pipe through pino-pretty). */
export function createLogger(options: {
  level: string;
  name: string;
  destination?: pino.DestinationStream;
}): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "*.password",
        "*.pass",
        "*.token",
        "*.passwordHash",
        // Secret values and what carries them to runs (run specs), should one ever be logged.
        "*.value",
        "*.secretEnv",
        "*.gitCredential",
        "*.encrypted",
      ],
      censor: "[REDACTED]",
    },
    serializers: {
      req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        headers: { authorization: req.headers.authorization, cookie: req.headers.cookie },
      }),
      err: pino.stdSerializers.err,
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
