// Finds the `director` executable: the `director.serverPath` setting when set,
// else `director` on PATH. Uses only `fs` and `path`, so it is unit-tested.

import * as fs from "fs";
import * as path from "path";

export type ServerLookup =
  | { found: true; path: string }
  | { found: false; message: string };

export function findServerExecutable(
  configuredPath: string,
  searchPath: string | undefined,
  isWindows = process.platform === "win32",
): ServerLookup {
  const configured = configuredPath.trim();
  if (configured !== "") {
    return isExecutableFile(configured)
      ? { found: true, path: configured }
      : {
          found: false,
          message: `the setting director.serverPath names ${configured}, which is not an executable file`,
        };
  }
  const names = isWindows ? ["director.exe", "director.cmd", "director"] : ["director"];
  for (const directory of (searchPath ?? "").split(path.delimiter)) {
    if (directory === "") {
      continue;
    }
    for (const name of names) {
      const candidate = path.join(directory, name);
      if (isExecutableFile(candidate)) {
        return { found: true, path: candidate };
      }
    }
  }
  return {
    found: false,
    message:
      "the `director` executable is not on PATH; install it with `cargo install --path server` or set director.serverPath",
  };
}

function isExecutableFile(candidate: string): boolean {
  try {
    if (!fs.statSync(candidate).isFile()) {
      return false;
    }
    fs.accessSync(candidate, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
