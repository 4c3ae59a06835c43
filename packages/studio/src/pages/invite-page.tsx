import { useMutation, useQuery } from "@tanstack/react-query";
import { getRouteApi, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { ApiError, api, unwrap } from "../api/client.ts";
import { useSetSession } from "../api/session.ts";
import { Button, errorMessage, fieldError, Loading, Notice, TextField } from "../components/ui.tsx";
import { formatDateTime } from "../format.ts";
import { useI18n } from "../i18n/index.tsx";
import { PublicFrame } from "../layout/public-frame.tsx";

const route = getRouteApi("/invite/$token");

/** /studio/invite/<token>: the invitation, then a name and password (or the account's own). */
export function InvitePage() {
  const { t, language } = useI18n();
  const { token } = route.useParams();
  const navigate = useNavigate();
  const setSession = useSetSession();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const params = { path: { token } };
  const invitation = useQuery({
    queryKey: ["invitation", token],
    queryFn: () => unwrap(api.GET("/v1/admin/invitations/{token}", { params })),
    retry: false,
  });
  const accept = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/invitations/{token}/accept", { params, body: { name, password } }),
      ),
    onSuccess: async (session) => {
      setSession(session);
      await navigate({ to: "/" });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    accept.mutate();
  };
  if (invitation.isPending) {
    return (
      <PublicFrame title={t("brand")}>
        <Loading />
      </PublicFrame>
    );
  }
  if (invitation.isError) {
    const invalid = invitation.error instanceof ApiError && invitation.error.status === 404;
    return (
      <PublicFrame title={t("inviteInvalid")}>
        {invalid ? (
          <p>{t("inviteInvalidBody")}</p>
        ) : (
          <Notice tone="danger">{errorMessage(invitation.error, t)}</Notice>
        )}
      </PublicFrame>
    );
  }
  const inv = invitation.data;
  const generalError =
    accept.error && !fieldError(accept.error, "name") && !fieldError(accept.error, "password")
      ? errorMessage(accept.error, t)
      : null;
  return (
    <PublicFrame title={t("inviteTitle", { org: inv.org_name })}>
      <p>{t("inviteLead", { role: t(`role_${inv.role}`), email: inv.email })}</p>
      <p className="muted">
        {t("inviteExpires", { date: formatDateTime(inv.expires_at, language) })}
      </p>
      {generalError && <Notice tone="danger">{generalError}</Notice>}
      <form className="form" onSubmit={submit} noValidate>
        <TextField
          label={t("yourName")}
          name="name"
          value={name}
          onChange={setName}
          autoComplete="name"
          error={fieldError(accept.error, "name")}
          isRequired
        />
        <TextField
          label={t("choosePassword")}
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          description={t("choosePasswordHelp")}
          error={fieldError(accept.error, "password")}
          isRequired
        />
        <div className="form-actions">
          <Button type="submit" variant="primary" isPending={accept.isPending}>
            {t("acceptInvite")}
          </Button>
        </div>
      </form>
    </PublicFrame>
  );
}
