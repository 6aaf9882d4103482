import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { apiKeyCreateHandler } from "./api-key-create.handler.js";
import { apiKeyListHandler } from "./api-key-list.handler.js";
import { apiKeyRevokeHandler } from "./api-key-revoke.handler.js";
import { apiKeyVerifyHandler } from "./api-key-verify.handler.js";
import { loginHandler } from "./login.handler.js";
import { logoutHandler } from "./logout.handler.js";
import { meHandler } from "./me.handler.js";
import { refreshHandler } from "./refresh.handler.js";
import { registerHandler } from "./register.handler.js";
import { signingKeysHandler } from "./signing-keys.handler.js";
import { usersListHandler } from "./users-list.handler.js";
import { usersUpdateHandler } from "./users-update.handler.js";
import { usersGetHandler } from "./users-get.handler.js";
import { usersDeleteHandler } from "./users-delete.handler.js";
import { meDeleteHandler } from "./me-delete.handler.js";
import { logoutAllHandler } from "./logout-all.handler.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const authHandlers = (deps: AuthDeps): Array<EndpointDefinition<any, unknown>> => [
  registerHandler(deps),
  loginHandler(deps),
  refreshHandler(deps),
  logoutHandler(deps),
  meHandler(deps),
  signingKeysHandler(deps),
  apiKeyCreateHandler(deps),
  apiKeyListHandler(deps),
  apiKeyRevokeHandler(deps),
  apiKeyVerifyHandler(deps),
  usersListHandler(deps),
  usersUpdateHandler(deps),
  usersGetHandler(deps),
  usersDeleteHandler(deps),
  meDeleteHandler(deps),
  logoutAllHandler(deps),
];
