import { runMain } from "@meridian/service-kit";
import { loadGatewayConfig } from "./config.js";
import { start } from "./service.js";

runMain("gateway", () => start(loadGatewayConfig()));
