// Finding the director executable.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { findServerExecutable } from "../src/serverExecutable";

function scratch(): { directory: string; executable: string; plain: string } {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "director-vscode-"));
  const executable = path.join(directory, "director");
  fs.writeFileSync(executable, "#!/bin/sh\n", { mode: 0o755 });
  const plain = path.join(directory, "plain");
  fs.writeFileSync(plain, "", { mode: 0o644 });
  return { directory, executable, plain };
}

test("the setting wins and must be an executable file", () => {
  const { directory, executable, plain } = scratch();
  assert.deepEqual(findServerExecutable(executable, ""), { found: true, path: executable }, "found");
  const notExecutable = findServerExecutable(plain, directory, false);
  assert.equal(notExecutable.found, false);
  assert.match(notExecutable.found ? "" : notExecutable.message, /director\.serverPath names .*plain, which is not an executable/);
  assert.equal(findServerExecutable(directory, "", false).found, false, "a directory is not an executable");
});

test("without the setting, PATH is searched", () => {
  const { directory, executable } = scratch();
  assert.deepEqual(findServerExecutable("  ", ["/nonexistent", directory].join(path.delimiter), false), {
    found: true,
    path: executable,
  });
  const missing = findServerExecutable("", "/nonexistent", false);
  assert.equal(missing.found, false);
  assert.match(missing.found ? "" : missing.message, /not on PATH.*cargo install --path server/);
});
