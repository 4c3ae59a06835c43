// Every failure a caller can cause or observe is a DomainError with a stable numeric code; the API
// turns it into the `{ code, message, data? }` envelope in exactly one place (api/error-handler.ts).
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503;

export interface DomainErrorOptions {
  status: ErrorStatus;
  code: number;
  message: string;
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly status: ErrorStatus;
  readonly code: number;
  readonly data?: Record<string, unknown>;

  constructor(options: DomainErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DomainError";
    this.status = options.status;
    this.code = options.code;
    if (options.data !== undefined) this.data = options.data;
  }
}

/** The codes, one place; docs/errors.md lists them for merchants. */
export const ErrorCode = {
  validation: 4000,
  invalidClientId: 4001,
  invalidApiKey: 4002,
  originNotAllowed: 4003,
  notFound: 4004,
  methodNotAllowed: 4005,
  paymentIntentNotFound: 4006,
  bodyTooLarge: 4013,
  unsupportedMediaType: 4014,
  noCallbackToResend: 4016,
  // Transfers (withdrawals): 4015 is the reference's; the rest follow it.
  balanceNotEnough: 4015,
  gasNotEnough: 4017,
  idempotencyKeyReused: 4018,
  orgTransferLimitExceeded: 4019,
  orgDailyCapExceeded: 4020,
  keyTransferLimitExceeded: 4021,
  keyDailyCapExceeded: 4022,
  transferNotFound: 4023,
  // 401 x 10, the code any other 401 of the HTTP layer already answers with.
  metricsTokenInvalid: 4010,

  callbackHostNotAllowed: 4024,
  tooManyRequests: 4029,
  // Studio and the admin API (/v1/admin). 4030-4039: sessions, roles, accounts; 4040-4044:
  // payments, callbacks, exports; 4045-4054: withdrawals, limits, treasury; 4055-4064:
  // developers, settings, payment links; 4065-4069: the operator's routes.
  notSignedIn: 4031,
  forbidden: 4032,
  csrfRejected: 4033,
  wrongCredentials: 4034,
  totpRequired: 4035,
  secondFactorMissing: 4036,
  secondFactorWrong: 4037,
  lastOwner: 4038,
  invitationInvalid: 4039,
  orgSuspended: 4065,
  alreadyMember: 4066,
  totpAlreadyEnabled: 4067,
  // Withdrawals, limits, treasury (4045-4054).
  withdrawalNotFound: 4045,
  approverIsRequester: 4046,
  withdrawalNotAwaitingApproval: 4047,
  // Developers, settings, payment links.
  orgHasNoClient: 4055,
  // Accepted assets and the payer's choice of chain and token.
  assetNotAccepted: 4075,
  assetChoiceClosed: 4076,
  // Merchant refunds (4070-4074).
  refundNotAllowed: 4070,
  refundExceedsRefundable: 4071,
  refundRecipientUnknown: 4072,
  internal: 5000,
  rateUnavailable: 5030,
  chainUnavailable: 5031,
  // Idempotency-Key (platform/idempotency.ts): 4090, after HTTP 409, as it always comes with it.
  idempotencyKeyInUse: 4090,
} as const;

export function validationError(field: string, message: string): DomainError {
  return new DomainError({
    status: 400,
    code: ErrorCode.validation,
    message: `${field}: ${message}`,
    data: { field },
  });
}

export function invalidClientId(message = "invalid client id"): DomainError {
  return new DomainError({ status: 401, code: ErrorCode.invalidClientId, message });
}

export function invalidApiKey(message = "invalid API key"): DomainError {
  return new DomainError({ status: 401, code: ErrorCode.invalidApiKey, message });
}

export function originNotAllowed(origin: string | undefined): DomainError {
  return new DomainError({
    status: 403,
    code: ErrorCode.originNotAllowed,
    message:
      origin === undefined
        ? "Origin header is required for calls without an API key"
        : `origin ${origin} is not allowed for this client`,
  });
}

export function notFound(message: string): DomainError {
  return new DomainError({ status: 404, code: ErrorCode.notFound, message });
}

export function paymentIntentNotFound(id: string): DomainError {
  return new DomainError({
    status: 404,
    code: ErrorCode.paymentIntentNotFound,
    // Cut short: the id is whatever the caller sent, of any length.
    message: `payment intent ${id.slice(0, 64)} not found`,
  });
}

/** A chain and token the organisation does not accept (create, or the payer's choice). */
export function assetNotAccepted(chainId: string, symbol: string, accepted: string[]): DomainError {
  return new DomainError({
    status: 422,
    code: ErrorCode.assetNotAccepted,
    message: `${symbol.slice(0, 64)} on ${chainId.slice(0, 64)} is not accepted by this organisation; it accepts: ${accepted.join(", ")}`,
    data: { accepted },
  });
}

/** The payer may no longer choose the asset: something arrived, the deadline passed, or it is fixed. */
export function assetChoiceClosed(reason: string): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.assetChoiceClosed,
    message: `the chain and token of this payment can no longer be changed: ${reason}`,
  });
}
