import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import { useOrg, useSession } from "../../api/session.ts";
import { ModalDialog } from "../../components/dialog.tsx";
import { DialogActions, otherError } from "../../components/dialog-actions.tsx";
import {
  Button,
  DetailList,
  errorMessage,
  fieldError,
  Notice,
  TextField,
} from "../../components/ui.tsx";
import { formatAmount } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { settingsQuery } from "../settings/settings-api.ts";
import { type WithdrawalRequest, withdrawalsKey } from "./withdrawal-types.ts";

const FIELDS = ["chain_id", "token", "amount", "to_address"] as const;

/** "New withdrawal": the form, then a confirmation step with the preview, then the result. */
export function CreateWithdrawalDialog() {
  const { t } = useI18n();
  return (
    <ModalDialog
      title={t("withdrawalsNew")}
      trigger={<Button variant="primary">{t("withdrawalsNew")}</Button>}
      isDismissable={false}
    >
      {(close) => <CreateWithdrawalFlow onClose={close} />}
    </ModalDialog>
  );
}

function CreateWithdrawalFlow({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  const org = useOrg();
  const session = useSession();
  const queryClient = useQueryClient();
  const settings = useQuery(settingsQuery(org.id));
  const [form, setForm] = useState<WithdrawalRequest | null>(null);
  const values: WithdrawalRequest = form ?? {
    chain_id: settings.data?.default_chain_id ?? "",
    token: settings.data?.default_token_symbol ?? "",
    amount: "",
    to_address: "",
  };
  const set = (field: keyof WithdrawalRequest) => (value: string) =>
    setForm({ ...values, [field]: value });
  // One key per dialog: pressing "Send" twice, or again after a dropped answer, sends once.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const [code, setCode] = useState("");

  const preview = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/withdrawals/preview", {
          params: { path: { orgId: String(org.id) } },
          body: values,
        }),
      ),
  });
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/withdrawals", {
          params: { path: { orgId: String(org.id) } },
          body: {
            ...values,
            idempotency_key: idempotencyKey,
            ...(code === "" ? {} : { totp_code: code }),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: withdrawalsKey(org.id) }),
  });

  if (create.data) {
    const w = create.data;
    return (
      <>
        <Notice tone="success">
          {w.status === "awaiting_approval"
            ? t("withdrawalsCreatedAwaiting")
            : t("withdrawalsCreatedSent")}
        </Notice>
        <DetailList
          items={[
            [t("withdrawalsAmount"), `${formatAmount(w.amount)} ${w.token}`],
            [
              t("withdrawalsTo"),
              <span key="to" className="mono">
                {w.to_address}
              </span>,
            ],
            [
              t("withdrawalsTx"),
              w.tx_hash ? (
                <span key="tx" className="mono">
                  {w.tx_hash}
                </span>
              ) : (
                "—"
              ),
            ],
          ]}
        />
        <div className="dialog-actions">
          <Button variant="primary" onPress={onClose}>
            {t("close")}
          </Button>
        </div>
      </>
    );
  }

  if (preview.data) {
    const p = preview.data;
    const blocked = p.problems.length > 0;
    const ownerWithoutTotp = p.needs_approval && org.role === "owner" && !session.user.totp_enabled;
    const submit = (e: FormEvent) => {
      e.preventDefault();
      create.mutate();
    };
    return (
      <form className="form" onSubmit={submit} noValidate>
        <p className="confirm-amount">
          {t("withdrawalsConfirmLead", {
            amount: formatAmount(values.amount),
            token: values.token,
            chain: values.chain_id,
          })}
        </p>
        <DetailList
          items={[
            [
              t("withdrawalsTo"),
              <span key="to" className="mono">
                {values.to_address}
              </span>,
            ],
            [
              t("withdrawalsFrom"),
              <span key="from" className="mono">
                {p.hot_wallet_address}
              </span>,
            ],
            [
              t("withdrawalsBalance"),
              p.balance === null
                ? t("withdrawalsUnknown")
                : `${formatAmount(p.balance)} ${values.token}`,
            ],
            ...(p.in_flight !== "0"
              ? ([
                  [t("withdrawalsInFlight"), `${formatAmount(p.in_flight)} ${values.token}`],
                ] as const)
              : []),
            [
              t("withdrawalsGasBalance"),
              p.gas_balance === null ? t("withdrawalsUnknown") : formatAmount(p.gas_balance),
            ],
            [
              t("withdrawalsFeeEstimate"),
              p.fee_estimate === null ? t("withdrawalsUnknown") : formatAmount(p.fee_estimate),
            ],
            [
              t("withdrawalsSentToday"),
              p.limits.daily_transfer_cap === null
                ? formatAmount(p.limits.sent_today)
                : t("withdrawalsOfCap", {
                    sent: formatAmount(p.limits.sent_today),
                    cap: formatAmount(p.limits.daily_transfer_cap),
                  }),
            ],
            [
              t("withdrawalsApproval"),
              p.needs_approval
                ? t("withdrawalsApprovalNeeded", {
                    threshold: formatAmount(p.limits.withdrawal_approval_threshold),
                  })
                : t("withdrawalsApprovalNotNeeded"),
            ],
          ]}
        />
        {blocked && (
          <Notice tone="danger">
            <strong>{t("withdrawalsProblems")}</strong>
            <ul className="plain-list">
              {p.problems.map((problem) => (
                <li key={`${problem.code}-${problem.message}`}>{problem.message}</li>
              ))}
            </ul>
          </Notice>
        )}
        {ownerWithoutTotp && (
          <Notice tone="warning">
            {t("withdrawalsTotpFirst")} <Link to="/account">{t("navAccount")}</Link>
          </Notice>
        )}
        {p.needs_approval && session.user.totp_enabled && (
          <TextField
            label={t("totpCode")}
            value={code}
            onChange={setCode}
            inputMode="numeric"
            autoComplete="one-time-code"
            mono
            description={t("withdrawalsTotpHelp")}
            error={fieldError(create.error, "totp_code")}
          />
        )}
        {create.error && !fieldError(create.error, "totp_code") ? (
          <Notice tone="danger">{errorMessage(create.error, t)}</Notice>
        ) : null}
        <div className="dialog-actions">
          <Button variant="ghost" onPress={() => preview.reset()}>
            {t("back")}
          </Button>
          <Button
            type="submit"
            variant="primary"
            isDisabled={blocked || ownerWithoutTotp}
            isPending={create.isPending}
          >
            {p.needs_approval ? t("withdrawalsRequestApproval") : t("withdrawalsSend")}
          </Button>
        </div>
      </form>
    );
  }

  const general = otherError(preview.error, FIELDS, t);
  return (
    <form
      className="form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        preview.mutate();
      }}
    >
      <div className="form-row">
        <TextField
          label={t("withdrawalsChain")}
          value={values.chain_id}
          onChange={set("chain_id")}
          isRequired
          error={fieldError(preview.error, "chain_id")}
        />
        <TextField
          label={t("withdrawalsToken")}
          value={values.token}
          onChange={set("token")}
          description={t("withdrawalsTokenHelp")}
          isRequired
          error={fieldError(preview.error, "token")}
        />
      </div>
      <TextField
        label={t("withdrawalsAmount")}
        value={values.amount}
        onChange={set("amount")}
        inputMode="decimal"
        placeholder="100.00"
        isRequired
        autoFocus
        error={fieldError(preview.error, "amount")}
      />
      <TextField
        label={t("withdrawalsToAddress")}
        value={values.to_address}
        onChange={set("to_address")}
        placeholder="0x…"
        mono
        isRequired
        error={fieldError(preview.error, "to_address")}
      />
      {general && <Notice tone="danger">{general}</Notice>}
      <DialogActions
        onCancel={onClose}
        submitLabel={t("withdrawalsReview")}
        isPending={preview.isPending}
      />
    </form>
  );
}
