import { readFileSync } from "node:fs";
import { expect } from "chai";
import semver from "semver";

const root = new URL("../../../", import.meta.url);
const read = (path: string) => JSON.parse(readFileSync(new URL(path, root), "utf8")) as Record<string, unknown>;

/** The Node version is stated once (package.json `engines`) and met by everything installed. */
describe("repository: the Node version", () => {
  it("when the running Node is checked, then it meets package.json's engines", () => {
    const wanted = (read("package.json").engines as { node: string }).node;
    expect(semver.satisfies(process.version, wanted), `Node ${process.version} against ${wanted}`).to.equal(true);
  });

  it("when every locked package's engines are read, then the running Node meets each (npm would warn otherwise)", () => {
    const packages = read("package-lock.json").packages as Record<string, { engines?: { node?: string } | string[] }>;
    const unmet = Object.entries(packages)
      .filter(([path]) => path.startsWith("node_modules/") || path.includes("/node_modules/"))
      .map(([path, p]) => [path, Array.isArray(p.engines) ? undefined : p.engines?.node] as const)
      .filter(([, node]) => node !== undefined && !semver.satisfies(process.version, node, { loose: true }))
      .map(([path, node]) => `${path} wants node ${node}`);
    expect(unmet).to.deep.equal([]);
  });
});
