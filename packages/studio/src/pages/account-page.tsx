import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import QRCode from "qrcode";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../api/client.ts";
import { SESSION_KEY, useSession, useSetSession } from "../api/session.ts";
import { ConfirmButton } from "../components/dialog.tsx";
import {
  Badge,
  Button,
  Card,
  DetailList,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  TextField,
} from "../components/ui.tsx";
import { useI18n } from "../i18n/index.tsx";

/** /studio/account: password, two-factor authentication, sessions. */
export function AccountPage() {
  const { t } = useI18n();
  const session = useSession();
  return (
    <div className="page">
      <PageHeader title={t("accountTitle")} />
      {session.memberships.length === 0 && !session.user.is_operator && (
        <Notice tone="info">{t("noOrganizations")}</Notice>
      )}
      <div className="stack">
        <Card title={t("profile")}>
          <DetailList
            items={[
              [t("name"), session.user.name],
              [t("email"), session.user.email],
              ...(session.user.is_operator
                ? ([
                    [
                      t("navOperator"),
                      <Badge key="operator" tone="info">
                        {t("roleOperator")}
                      </Badge>,
                    ],
                  ] as const)
                : []),
            ]}
          />
        </Card>
        <PasswordCard />
        <TotpCard />
        <SessionsCard />
      </div>
    </div>
  );
}

function PasswordCard() {
  const { t } = useI18n();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/me/password", {
          body: { current_password: current, new_password: next },
        }),
      ),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  const general =
    change.error &&
    !fieldError(change.error, "current_password") &&
    !fieldError(change.error, "new_password")
      ? errorMessage(change.error, t)
      : null;
  return (
    <Card title={t("changePassword")}>
      {change.isSuccess && <Notice tone="success">{t("passwordChanged")}</Notice>}
      {general && <Notice tone="danger">{general}</Notice>}
      <form className="form narrow" onSubmit={submit} noValidate>
        <TextField
          label={t("currentPassword")}
          type="password"
          value={current}
          onChange={setCurrent}
          autoComplete="current-password"
          error={fieldError(change.error, "current_password")}
          isRequired
        />
        <TextField
          label={t("newPassword")}
          type="password"
          value={next}
          onChange={setNext}
          autoComplete="new-password"
          description={t("newPasswordHelp")}
          error={fieldError(change.error, "new_password")}
          isRequired
        />
        <div className="form-actions">
          <Button type="submit" variant="primary" isPending={change.isPending}>
            {t("changePassword")}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function TotpCard() {
  const { t } = useI18n();
  const session = useSession();
  const queryClient = useQueryClient();
  const [code, setCode] = useState("");
  const [pending, setPending] = useState<{ secret: string; qr: string } | null>(null);
  const refreshSession = () => queryClient.invalidateQueries({ queryKey: SESSION_KEY });
  const start = useMutation({
    mutationFn: async () => {
      const setup = await unwrap(api.POST("/v1/admin/me/totp"));
      const qr = await QRCode.toDataURL(setup.otpauth_url, { margin: 1, width: 200 });
      return { secret: setup.secret, qr };
    },
    onSuccess: (setup) => {
      setPending(setup);
      setCode("");
    },
  });
  const confirm = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/admin/me/totp/confirm", { body: { code } })),
    onSuccess: async () => {
      setPending(null);
      setCode("");
      await refreshSession();
    },
  });
  const disable = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/admin/me/totp", { body: { code } })),
    onSuccess: async () => {
      setCode("");
      await refreshSession();
    },
  });
  const enabled = session.user.totp_enabled;
  return (
    <Card
      title={t("totpSection")}
      actions={
        <Badge tone={enabled ? "success" : "warning"}>
          {enabled ? t("totpStateOn") : t("totpStateOff")}
        </Badge>
      }
    >
      <p className="muted">{enabled ? t("totpOn") : t("totpOff")}</p>
      {confirm.isSuccess && enabled && <Notice tone="success">{t("totpEnabled")}</Notice>}
      {disable.isSuccess && !enabled && <Notice tone="success">{t("totpDisabled")}</Notice>}
      {start.error ? <Notice tone="danger">{errorMessage(start.error, t)}</Notice> : null}
      {!enabled && !pending && (
        <Button variant="primary" isPending={start.isPending} onPress={() => start.mutate()}>
          {t("totpEnable")}
        </Button>
      )}
      {!enabled && pending && (
        <form
          className="form narrow totp-setup"
          onSubmit={(e) => {
            e.preventDefault();
            confirm.mutate();
          }}
          noValidate
        >
          <p>{t("totpScan")}</p>
          <img src={pending.qr} alt={t("totpQrAlt")} width={200} height={200} />
          <DetailList
            items={[
              [
                t("totpSecret"),
                <code key="secret" className="mono">
                  {pending.secret}
                </code>,
              ],
            ]}
          />
          <CodeField value={code} onChange={setCode} error={confirm.error} />
          <div className="form-actions">
            <Button variant="ghost" onPress={() => setPending(null)}>
              {t("cancel")}
            </Button>
            <Button type="submit" variant="primary" isPending={confirm.isPending}>
              {t("totpConfirm")}
            </Button>
          </div>
        </form>
      )}
      {enabled && (
        <form
          className="form narrow"
          onSubmit={(e) => {
            e.preventDefault();
            disable.mutate();
          }}
          noValidate
        >
          <CodeField value={code} onChange={setCode} error={disable.error} />
          <div className="form-actions">
            <Button type="submit" variant="danger" isPending={disable.isPending}>
              {t("totpDisable")}
            </Button>
          </div>
        </form>
      )}
    </Card>
  );
}

/** The authenticator app's 6-digit code, with the API's message when it was refused. */
function CodeField(props: { value: string; onChange(code: string): void; error: unknown }) {
  const { t } = useI18n();
  return (
    <TextField
      label={t("totpCode")}
      value={props.value}
      onChange={props.onChange}
      inputMode="numeric"
      autoComplete="one-time-code"
      error={props.error ? errorMessage(props.error, t) : undefined}
      isRequired
      mono
    />
  );
}

function SessionsCard() {
  const { t } = useI18n();
  const setSession = useSetSession();
  const navigate = useNavigate();
  const revokeAll = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/admin/session/revoke-all")),
    onSuccess: async () => {
      setSession(null);
      await navigate({ to: "/login", search: {} });
    },
  });
  return (
    <Card title={t("sessions")}>
      <p className="muted">{t("sessionsLead")}</p>
      <ConfirmButton
        label={t("signOutEverywhere")}
        title={t("signOutEverywhere")}
        body={<p>{t("signOutEverywhereConfirm")}</p>}
        confirmLabel={t("signOutEverywhere")}
        onConfirm={() => revokeAll.mutateAsync()}
        isPending={revokeAll.isPending}
        error={revokeAll.error}
      />
    </Card>
  );
}
