import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { type Role, useOrg, useSession } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import { ConfirmButton, ModalDialog } from "../../components/dialog.tsx";
import { DialogActions } from "../../components/dialog-actions.tsx";
import {
  Badge,
  Button,
  Card,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  SelectField,
  TextField,
} from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { SecretOnce } from "../developers/secret-once.tsx";

type Member = components["schemas"]["StudioMember"];
type Invitation = components["schemas"]["StudioInvitation"];

const ROLES = ["owner", "admin", "developer", "viewer"] as const satisfies readonly Role[];
const membersKey = (orgId: number) => ["org", orgId, "members"] as const;
const invitationsKey = (orgId: number) => ["org", orgId, "invitations"] as const;

/** /studio/orgs/<id>/team: members and their roles, invitations. */
export function TeamPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const session = useSession();
  const canWrite = org.can("team:write");
  const members = useQuery({
    queryKey: membersKey(org.id),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/members", { params: { path: { orgId: String(org.id) } } }),
      ),
  });
  const invitations = useQuery({
    queryKey: invitationsKey(org.id),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/invitations", {
          params: { path: { orgId: String(org.id) } },
        }),
      ),
    enabled: canWrite,
  });

  const memberColumns: ColumnDef<Member>[] = [
    {
      header: t("teamMember"),
      accessorKey: "email",
      cell: (c) => (
        <div className="people">
          <span>
            {c.row.original.name || c.row.original.email}
            {c.row.original.user_id === session.user.id && (
              <span className="muted"> ({t("teamYou")})</span>
            )}
          </span>
          <span className="muted">{c.row.original.email}</span>
        </div>
      ),
    },
    {
      header: t("teamRole"),
      accessorKey: "role",
      cell: (c) =>
        canWrite ? <RoleSelect member={c.row.original} /> : t(`role_${c.row.original.role}`),
    },
    {
      header: t("teamTwoFactor"),
      accessorKey: "totp_enabled",
      cell: (c) =>
        c.row.original.totp_enabled ? (
          <Badge tone="success">{t("teamTotpOn")}</Badge>
        ) : (
          <Badge tone="neutral">{t("teamTotpOff")}</Badge>
        ),
    },
    {
      header: t("teamSince"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) => (canWrite ? <RemoveMember member={c.row.original} /> : null),
    },
  ];

  const invitationColumns: ColumnDef<Invitation>[] = [
    { header: t("email"), accessorKey: "email" },
    { header: t("teamRole"), accessorKey: "role", cell: (c) => t(`role_${c.row.original.role}`) },
    {
      header: t("teamExpires"),
      accessorKey: "expires_at",
      cell: (c) => formatDateTime(c.row.original.expires_at, language),
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) => <RevokeInvitation invitation={c.row.original} />,
    },
  ];

  return (
    <div className="page">
      <PageHeader
        title={t("navTeam")}
        description={t("teamLead")}
        actions={canWrite ? <InviteDialog /> : null}
      />
      <div className="stack">
        <Card title={t("teamMembers")}>
          <DataTable
            label={t("teamMembers")}
            columns={memberColumns}
            data={members.data}
            isLoading={members.isPending}
            error={members.error}
            onRetry={() => members.refetch()}
            getRowId={(m) => String(m.user_id)}
            empty={{ title: t("teamEmpty") }}
          />
        </Card>
        {canWrite && (
          <Card title={t("teamInvitations")}>
            <DataTable
              label={t("teamInvitations")}
              columns={invitationColumns}
              data={invitations.data}
              isLoading={invitations.isPending}
              error={invitations.error}
              onRetry={() => invitations.refetch()}
              getRowId={(i) => i.id}
              empty={{ title: t("teamInvitationsEmpty"), body: t("teamInvitationsEmptyBody") }}
            />
          </Card>
        )}
      </div>
    </div>
  );
}

function RoleSelect({ member }: { member: Member }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: (role: Role) =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/members/{userId}", {
          params: { path: { orgId: String(org.id), userId: String(member.user_id) } },
          body: { role },
        }),
      ),
    onSettled: () => queryClient.invalidateQueries({ queryKey: membersKey(org.id) }),
  });
  return (
    <div>
      <SelectField<Role>
        label={t("teamRoleOf", { who: member.email })}
        hideLabel
        value={member.role}
        options={ROLES.map((r) => ({ id: r, label: t(`role_${r}`) }))}
        onChange={(role) => role !== member.role && change.mutate(role)}
        isDisabled={change.isPending}
      />
      {change.error ? <p className="field-error">{errorMessage(change.error, t)}</p> : null}
    </div>
  );
}

function RemoveMember({ member }: { member: Member }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE("/v1/admin/orgs/{orgId}/members/{userId}", {
          params: { path: { orgId: String(org.id), userId: String(member.user_id) } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: membersKey(org.id) }),
  });
  return (
    <ConfirmButton
      label={t("teamRemove")}
      title={t("teamRemoveTitle", { who: member.email })}
      body={t("teamRemoveBody")}
      confirmLabel={t("teamRemove")}
      onConfirm={() => remove.mutateAsync()}
      isPending={remove.isPending}
      error={remove.error}
    />
  );
}

function RevokeInvitation({ invitation }: { invitation: Invitation }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE("/v1/admin/orgs/{orgId}/invitations/{id}", {
          params: { path: { orgId: String(org.id), id: invitation.id } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: invitationsKey(org.id) }),
  });
  return (
    <ConfirmButton
      label={t("teamRevoke")}
      title={t("teamRevokeTitle", { who: invitation.email })}
      body={t("teamRevokeBody")}
      confirmLabel={t("teamRevoke")}
      onConfirm={() => revoke.mutateAsync()}
      isPending={revoke.isPending}
      error={revoke.error}
    />
  );
}

function InviteDialog() {
  const { t, language } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("developer");
  const invite = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/invitations", {
          params: { path: { orgId: String(org.id) } },
          body: { email, role },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: invitationsKey(org.id) }),
  });
  const reset = () => {
    invite.reset();
    setEmail("");
    setRole("developer");
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  const general =
    invite.error && !fieldError(invite.error, "email") && !fieldError(invite.error, "role")
      ? errorMessage(invite.error, t)
      : null;
  return (
    <ModalDialog
      title={t("teamInvite")}
      isDismissable={false}
      trigger={
        <Button variant="primary" onPress={reset}>
          {t("teamInvite")}
        </Button>
      }
    >
      {(close) =>
        invite.data ? (
          <>
            <p>
              {t(invite.data.email_sent ? "teamInviteEmailed" : "teamInviteSend", {
                email: invite.data.email,
              })}
            </p>
            <SecretOnce label={t("teamInviteLink")} value={invite.data.url} />
            <p className="muted">
              {t("teamInviteExpires", { date: formatDateTime(invite.data.expires_at, language) })}
            </p>
            <div className="dialog-actions">
              <Button variant="primary" onPress={close}>
                {t("close")}
              </Button>
            </div>
          </>
        ) : (
          <form className="form" onSubmit={submit} noValidate>
            <p className="muted">{t("teamInviteLead")}</p>
            <TextField
              label={t("email")}
              type="email"
              value={email}
              onChange={setEmail}
              isRequired
              autoFocus
              error={fieldError(invite.error, "email")}
            />
            <SelectField<Role>
              label={t("teamRole")}
              value={role}
              options={ROLES.map((r) => ({ id: r, label: t(`role_${r}`) }))}
              onChange={setRole}
            />
            <p className="field-help">{t(`teamRoleHelp_${role}`)}</p>
            {general && <Notice tone="danger">{general}</Notice>}
            <DialogActions
              onCancel={close}
              submitLabel={t("teamInviteCreate")}
              isPending={invite.isPending}
            />
          </form>
        )
      }
    </ModalDialog>
  );
}
