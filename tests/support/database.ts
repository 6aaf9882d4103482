import pg from "pg";
import { testInfra } from "@meridian/service-kit/testing";

/** Run one statement on the test server's maintenance connection (create or drop a database). */
export async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: testInfra.databaseUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
