import { useMutation } from "@tanstack/react-query";
import { getRouteApi, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { ApiError, api, unwrap } from "../api/client.ts";
import { useSetSession } from "../api/session.ts";
import { Button, errorMessage, Notice, TextField } from "../components/ui.tsx";
import { useI18n } from "../i18n/index.tsx";
import { PublicFrame } from "../layout/public-frame.tsx";

const route = getRouteApi("/login");

/** Email and password, then (401 4035) the authenticator code; back to where the user was. */
export function LoginPage() {
  const { t } = useI18n();
  const { next, ended } = route.useSearch();
  const navigate = useNavigate();
  const setSession = useSetSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [totpStep, setTotpStep] = useState(false);
  const signIn = useMutation({
    mutationFn: (body: { email: string; password: string; totp_code?: string }) =>
      unwrap(api.POST("/v1/admin/session", { body })),
    onSuccess: async (session) => {
      setSession(session);
      // Only a path inside Studio: `next` comes from the URL, anyone can write it.
      const target = next?.startsWith("/") && !next.startsWith("//") ? next : "/";
      await navigate({ to: target });
    },
    onError: (err) => {
      if (err instanceof ApiError && err.code === 4035) setTotpStep(true);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate(totpStep ? { email, password, totp_code: code } : { email, password });
  };
  const error = signIn.error;
  const needsCode = error instanceof ApiError && error.code === 4035;
  let message: string | null = null;
  if (error && !needsCode) {
    message =
      error instanceof ApiError && error.status === 429
        ? t("throttled", { minutes: Math.max(1, Math.ceil((error.retryAfter ?? 900) / 60)) })
        : errorMessage(error, t);
  }
  return (
    <PublicFrame title={totpStep ? t("totpTitle") : t("signInTitle")}>
      <p className="muted">{totpStep ? t("totpLead") : t("signInLead")}</p>
      {ended && !message && <Notice tone="info">{t("sessionEnded")}</Notice>}
      {message && <Notice tone="danger">{message}</Notice>}
      <form className="form" onSubmit={submit} noValidate>
        {totpStep ? (
          <TextField
            label={t("totpCode")}
            name="totp_code"
            value={code}
            onChange={setCode}
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            isRequired
            mono
          />
        ) : (
          <>
            <TextField
              label={t("email")}
              name="email"
              type="email"
              value={email}
              onChange={setEmail}
              autoComplete="username"
              autoFocus
              isRequired
            />
            <TextField
              label={t("password")}
              name="password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="current-password"
              isRequired
            />
          </>
        )}
        <div className="form-actions">
          {totpStep && (
            <Button
              variant="ghost"
              onPress={() => {
                setTotpStep(false);
                setCode("");
                signIn.reset();
              }}
            >
              {t("back")}
            </Button>
          )}
          <Button type="submit" variant="primary" isPending={signIn.isPending}>
            {signIn.isPending ? t("signingIn") : totpStep ? t("verify") : t("signIn")}
          </Button>
        </div>
      </form>
    </PublicFrame>
  );
}

export function validateLoginSearch(search: Record<string, unknown>): {
  next?: string;
  ended?: boolean;
} {
  return {
    ...(typeof search.next === "string" ? { next: search.next } : {}),
    ...(search.ended === true || search.ended === "true" ? { ended: true } : {}),
  };
}
