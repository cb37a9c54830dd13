// Values the schemas share with other layers, taken from them so a new disposition or failover
// default reaches validation and the OpenAPI document without a second edit.
import { DEFAULT_FAILOVER_CODES } from "../domain/index.ts";
import { DISPOSITIONS } from "../ports/index.ts";

export { DEFAULT_FAILOVER_CODES };
/** Every CDR disposition, as the search filter accepts them. */
export const DISPOSITIONS_FOR_API: readonly string[] = DISPOSITIONS;
