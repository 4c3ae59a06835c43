import { z } from "@hono/zod-openapi";
import { envelope, errorResponse, jsonResponse } from "../http/openapi.ts";
import { refineText } from "../http/well-formed-text.ts";

/** OpenAPI tags of the admin API start with this, so the reference groups them apart. */
export const ADMIN_TAG = "Admin";

/** What every session route's OpenAPI entry says about its security. */
export const studioSecurity = [{ StudioSession: [] }];

/** The error answers every admin route behind a session can give. */
export const adminErrorResponses = {
  400: errorResponse("Invalid request (4000): the message names the field"),
  401: errorResponse("Not signed in, or the session ended (4031)"),
  403: errorResponse("The role may not do this (4032), or the CSRF check failed (4033)"),
} as const;

/** The organisation a route acts on. */
export const OrgParam = z.object({
  orgId: z
    .string()
    .regex(/^[0-9]{1,9}$/, "must be an organisation id")
    .openapi({ param: { name: "orgId", in: "path" }, example: "1" }),
});

/** An organisation's payment intent: `/v1/admin/orgs/{orgId}/payments/{id}` and below. */
export const OrgIntentParams = OrgParam.extend({
  id: z
    .string()
    .max(64)
    .superRefine(refineText)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** A route's answers: `schema` in the envelope on 200, and the admin API's errors. */
export function adminAnswers<T extends z.ZodType>(
  schema: T,
  description: string,
  notFound = "Not a member of the organisation (4004)",
) {
  return {
    200: jsonResponse(envelope(schema), description),
    ...adminErrorResponses,
    404: errorResponse(notFound),
  };
}

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
