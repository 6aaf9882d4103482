/** Throwaway PostgreSQL databases on the shared server, created and dropped by the bench. */
import pg from "pg";

async function admin<T>(postgresUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const safe = (name: string) => {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  return name;
};

/** Creates database `name` and returns its URL. */
export async function createDatabase(postgresUrl: string, name: string): Promise<string> {
  await admin(postgresUrl, (c) => c.query(`create database ${safe(name)}`));
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(postgresUrl: string, name: string): Promise<void> {
  await admin(postgresUrl, (c) => c.query(`drop database if exists ${safe(name)} with (force)`));
}

export async function serverVersion(postgresUrl: string): Promise<string> {
  return admin(postgresUrl, async (c) => ((await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? "?"));
}
