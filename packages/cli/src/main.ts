// Entry point of the `optio` command: reads the environment once, runs, exits with the code.
import { runCli } from "./program";

const env = {
  OPTIO_SERVER: process.env.OPTIO_SERVER,
  OPTIO_TOKEN: process.env.OPTIO_TOKEN,
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME,
  APPDATA: process.env.APPDATA,
  CI: process.env.CI,
  NO_COLOR: process.env.NO_COLOR,
};

void runCli(process.argv.slice(2), env).then((code) => {
  process.exitCode = code;
  // Open streams or sockets must not keep a finished command alive.
  process.stdout.write("", () => process.exit(code));
});
