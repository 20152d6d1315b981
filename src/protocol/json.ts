/** JSON values as they travel on comms and in MIME bundles. DOM-free and dependency-free. */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };
