/**
 * Response bodies of the HTTP API as the client and CLI read them: the contract's types
 * (src/contract, inferred from the schemas the API validates with and publishes at /openapi.json).
 * Type-only, so a control script pulls none of the server's code or its dependencies. Request
 * bodies for binding live in `src/domain/bind-spec.ts`, shared with the API.
 */
export type * from '../contract/types';
