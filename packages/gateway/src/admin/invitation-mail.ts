import type { Transporter } from "nodemailer";
import type { Logger } from "pino";
import type { OrgRole } from "../platform/database/schema.ts";
import type { Actor } from "./audit-log.ts";

export interface InvitationMail {
  to: string;
  orgName: string;
  role: OrgRole;
  /** The one-time link, as the inviter is shown it. */
  url: string;
  expiresAt: Date;
  /** Who invited: an email, or the operator's. */
  invitedBy: string;
}

export interface InvitationMailer {
  /** Sends one invitation; whether the SMTP server took it. A failure is logged, never thrown. */
  send(mail: InvitationMail): Promise<boolean>;
}

/** How long one send may take before it counts as failed: the inviter's request waits for it. */
const SEND_TIMEOUT_MS = 10_000;

/**
 * Invitation links by email (SMTP_URL, SMTP_FROM), when configured. The link is always shown to
 * the inviter as well: a mail server that refuses or times out costs the invitee the email, not
 * the invitation.
 */
export function createInvitationMailer(options: {
  url: string;
  from: string;
  log: Logger;
}): InvitationMailer {
  // nodemailer is loaded by the first send: a gateway without SMTP_URL never loads it (~40
  // modules and ~14 MB the sandbox would carry for nothing).
  let transport: Promise<Transporter> | undefined;
  const connect = () =>
    (transport ??= import("nodemailer").then(({ createTransport }) =>
      createTransport({
        url: options.url,
        connectionTimeout: SEND_TIMEOUT_MS,
        greetingTimeout: SEND_TIMEOUT_MS,
        socketTimeout: SEND_TIMEOUT_MS,
      }),
    ));
  return {
    async send(mail) {
      const expires = mail.expiresAt.toISOString().slice(0, 16).replace("T", " ");
      try {
        await (await connect()).sendMail({
          from: options.from,
          to: mail.to,
          subject: `You are invited to ${mail.orgName} on Stablegate`,
          text: [
            `${mail.invitedBy} invited you to join ${mail.orgName} on Stablegate as ${mail.role}.`,
            "",
            `Open this link to accept (it works once, until ${expires} UTC):`,
            "",
            mail.url,
            "",
            "If you did not expect this invitation, ignore this email.",
          ].join("\n"),
        });
        return true;
      } catch (error) {
        options.log.warn(
          { err: { message: (error as Error).message }, to: mail.to },
          "could not email an invitation; its link was shown to the inviter",
        );
        return false;
      }
    },
  };
}

/**
 * An invitation by email too, when a mailer is configured (Studio's team and operator routes, the
 * CLI's `org invite`); whether it was sent.
 */
export function emailInvitation(
  mailer: InvitationMailer | undefined,
  mail: Omit<InvitationMail, "invitedBy"> & { actor: Actor },
): Promise<boolean> {
  if (mailer === undefined) return Promise.resolve(false);
  const { actor, ...rest } = mail;
  return mailer.send({
    ...rest,
    invitedBy: actor.kind === "user" ? actor.email : "The gateway's operator",
  });
}
