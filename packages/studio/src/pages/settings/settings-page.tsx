import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import { useOrg } from "../../api/session.ts";
import { otherError } from "../../components/dialog-actions.tsx";
import {
  Button,
  Card,
  fieldError,
  Notice,
  PageHeader,
  QueryState,
  TextField,
} from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";
import { AcceptedAssetsCard } from "./accepted-assets-card.tsx";
import { limitsQuery, type OrgLimits, type OrgSettings, settingsQuery } from "./settings-api.ts";

const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;
const DEFAULT_ACCENT = "#0f766e";

/** /studio/orgs/<id>/settings: the organisation's name, the checkout's branding, the limits. */
export function SettingsPage() {
  const { t } = useI18n();
  const org = useOrg();
  const settings = useQuery(settingsQuery(org.id));
  const limits = useQuery(limitsQuery(org.id));
  return (
    <div className="page">
      <PageHeader title={t("navSettings")} description={t("settingsLead")} />
      <div className="stack">
        <QueryState query={settings}>
          {(s) => <GeneralAndBranding settings={s} canWrite={org.can("settings:write")} />}
        </QueryState>
        <QueryState query={settings}>
          {(s) => <AcceptedAssetsCard settings={s} canWrite={org.can("settings:write")} />}
        </QueryState>
        <QueryState query={limits}>
          {(l) => <LimitsCard limits={l} canWrite={org.can("limits:write")} />}
        </QueryState>
      </div>
    </div>
  );
}

function GeneralAndBranding({ settings, canWrite }: { settings: OrgSettings; canWrite: boolean }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [name, setName] = useState(settings.name);
  const [displayName, setDisplayName] = useState(settings.branding.display_name ?? "");
  const [logoUrl, setLogoUrl] = useState(settings.branding.logo_url ?? "");
  // Sent only when changed: a logo saved as an https URL before uploads-only stays untouched.
  const [logoChanged, setLogoChanged] = useState(false);
  const [accent, setAccent] = useState(settings.branding.accent_color ?? "");
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/settings", {
          params: { path: { orgId: String(org.id) } },
          body: {
            name,
            branding: {
              display_name: displayName.trim() || null,
              ...(logoChanged ? { logo_url: logoUrl || null } : {}),
              accent_color: accent.trim() || null,
            },
          },
        }),
      ),
    onSuccess: async (saved) => {
      setLogoChanged(false);
      queryClient.setQueryData(settingsQuery(org.id).queryKey, saved);
      // The organisation's name shows in the switcher: the session carries it.
      await queryClient.invalidateQueries({ queryKey: ["session"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const fields = ["name", "branding.display_name", "branding.logo_url", "branding.accent_color"];
  const general = otherError(save.error, fields, t);
  const shownAccent = HEX_COLOUR.test(accent) ? accent : DEFAULT_ACCENT;
  return (
    <form onSubmit={submit} noValidate className="stack">
      <Card title={t("settingsGeneral")}>
        <div className="form narrow">
          <TextField
            label={t("settingsName")}
            value={name}
            onChange={setName}
            isRequired
            isDisabled={!canWrite}
            error={fieldError(save.error, "name")}
          />
        </div>
      </Card>
      <Card title={t("settingsBranding")}>
        <p className="muted">{t("settingsBrandingLead")}</p>
        <div className="branding">
          <div className="form">
            <TextField
              label={t("settingsDisplayName")}
              value={displayName}
              onChange={setDisplayName}
              placeholder={name}
              description={t("settingsDisplayNameHelp")}
              isDisabled={!canWrite}
              error={fieldError(save.error, "branding.display_name")}
            />
            <LogoField
              value={logoUrl}
              onChange={(next) => {
                setLogoUrl(next);
                setLogoChanged(true);
              }}
              isDisabled={!canWrite}
              error={fieldError(save.error, "branding.logo_url")}
            />
            <div className="colour-field">
              <TextField
                label={t("settingsAccent")}
                value={accent}
                onChange={setAccent}
                placeholder={DEFAULT_ACCENT}
                mono
                description={t("settingsAccentHelp")}
                isDisabled={!canWrite}
                error={
                  fieldError(save.error, "branding.accent_color") ??
                  (accent !== "" && !HEX_COLOUR.test(accent)
                    ? t("settingsAccentInvalid")
                    : undefined)
                }
              />
              <input
                type="color"
                className="colour-swatch"
                aria-label={t("settingsAccentPicker")}
                value={shownAccent}
                onChange={(e) => setAccent(e.target.value)}
                disabled={!canWrite}
              />
            </div>
          </div>
          <CheckoutPreview
            name={displayName.trim() || name}
            logoUrl={logoUrl}
            accent={shownAccent}
          />
        </div>
        {save.isSuccess && <Notice tone="success">{t("settingsSaved")}</Notice>}
        {general && <Notice tone="danger">{general}</Notice>}
        {canWrite && (
          <div className="form-actions">
            <Button type="submit" variant="primary" isPending={save.isPending}>
              {t("settingsSave")}
            </Button>
          </div>
        )}
      </Card>
    </form>
  );
}

const LOGO_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
// The gateway takes a data: URL of at most 64,000 characters: base64 of about 47 KB.
const LOGO_MAX_BYTES = 47_000;

/**
 * The logo, uploaded from a file: the gateway stores it and serves it to the checkout itself
 * (the page shows no image from another host), so there is no URL to type.
 */
function LogoField(props: {
  value: string;
  onChange(dataUrl: string): void;
  isDisabled: boolean;
  error: string | undefined;
}) {
  const { t } = useI18n();
  const [problem, setProblem] = useState<string>();
  const pick = (file: File | undefined) => {
    if (!file) return;
    if (!LOGO_TYPES.includes(file.type)) return setProblem(t("settingsLogoType"));
    if (file.size > LOGO_MAX_BYTES) return setProblem(t("settingsLogoTooBig"));
    setProblem(undefined);
    const reader = new FileReader();
    reader.onload = () => props.onChange(String(reader.result));
    reader.onerror = () => setProblem(t("settingsLogoUnreadable"));
    reader.readAsDataURL(file);
  };
  const error = problem ?? props.error;
  const isStored = props.value.startsWith("data:");
  return (
    <div className="field logo-field">
      <label className="field-label" htmlFor="logo-file">
        {t("settingsLogo")}
      </label>
      <div className="logo-field-row">
        {isStored ? <img className="logo-field-image" src={props.value} alt="" /> : null}
        <input
          id="logo-file"
          type="file"
          accept={LOGO_TYPES.join(",")}
          disabled={props.isDisabled}
          aria-describedby="logo-help"
          aria-invalid={error ? true : undefined}
          onChange={(e) => pick(e.target.files?.[0])}
        />
        {props.value !== "" && !props.isDisabled ? (
          <Button size="small" onPress={() => props.onChange("")}>
            {t("settingsLogoRemove")}
          </Button>
        ) : null}
      </div>
      <p id="logo-help" className="field-help">
        {props.value !== "" && !isStored ? t("settingsLogoNotShown") : t("settingsLogoHelp")}
      </p>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** What a payer will see at the top of the hosted checkout, as the fields are typed. */
function CheckoutPreview({
  name,
  logoUrl,
  accent,
}: {
  name: string;
  logoUrl: string;
  accent: string;
}) {
  const { t } = useI18n();
  const [broken, setBroken] = useState<string | null>(null);
  // Only a stored (uploaded) logo shows on the checkout; the preview shows what the payer sees.
  const showLogo = logoUrl !== "" && broken !== logoUrl && /^data:image\//.test(logoUrl);
  return (
    <figure className="checkout-preview" aria-label={t("settingsPreview")}>
      <figcaption className="field-label">{t("settingsPreview")}</figcaption>
      <div className="checkout-preview-frame">
        <div className="checkout-preview-brand">
          {showLogo ? (
            <img src={logoUrl} alt="" onError={() => setBroken(logoUrl)} />
          ) : (
            <span
              className="checkout-preview-initial"
              style={{ background: accent }}
              aria-hidden="true"
            >
              {name.slice(0, 1).toUpperCase()}
            </span>
          )}
          <strong>{name}</strong>
        </div>
        <p className="checkout-preview-amount">{t("settingsPreviewAmount")}</p>
        <div className="checkout-preview-address" />
        <span className="checkout-preview-button" style={{ background: accent }}>
          {t("settingsPreviewButton")}
        </span>
      </div>
    </figure>
  );
}

function LimitsCard({ limits, canWrite }: { limits: OrgLimits; canWrite: boolean }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [max, setMax] = useState(limits.max_transfer_amount ?? "");
  const [cap, setCap] = useState(limits.daily_transfer_cap ?? "");
  const [threshold, setThreshold] = useState(limits.withdrawal_approval_threshold ?? "");
  const value = (v: string) => (v.trim() === "" ? null : v.trim());
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/limits", {
          params: { path: { orgId: String(org.id) } },
          body: {
            max_transfer_amount: value(max),
            daily_transfer_cap: value(cap),
            withdrawal_approval_threshold: value(threshold),
          },
        }),
      ),
    onSuccess: (saved) => queryClient.setQueryData(limitsQuery(org.id).queryKey, saved),
  });
  const fields = ["max_transfer_amount", "daily_transfer_cap", "withdrawal_approval_threshold"];
  const general = otherError(save.error, fields, t);
  return (
    <Card title={t("settingsLimits")}>
      <p className="muted">{t("settingsLimitsLead")}</p>
      <form
        className="form narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <TextField
          label={t("settingsThreshold")}
          value={threshold}
          onChange={setThreshold}
          inputMode="decimal"
          placeholder={t("settingsNoLimit")}
          description={t("settingsThresholdHelp")}
          isDisabled={!canWrite}
          error={fieldError(save.error, "withdrawal_approval_threshold")}
        />
        <TextField
          label={t("keysMaxTransfer")}
          value={max}
          onChange={setMax}
          inputMode="decimal"
          placeholder={t("settingsNoLimit")}
          description={t("settingsMaxHelp")}
          isDisabled={!canWrite}
          error={fieldError(save.error, "max_transfer_amount")}
        />
        <TextField
          label={t("keysDailyCap")}
          value={cap}
          onChange={setCap}
          inputMode="decimal"
          placeholder={t("settingsNoLimit")}
          description={t("settingsCapHelp")}
          isDisabled={!canWrite}
          error={fieldError(save.error, "daily_transfer_cap")}
        />
        {save.isSuccess && <Notice tone="success">{t("settingsLimitsSaved")}</Notice>}
        {general && <Notice tone="danger">{general}</Notice>}
        {canWrite && (
          <div className="form-actions">
            <Button type="submit" variant="primary" isPending={save.isPending}>
              {t("settingsLimitsSave")}
            </Button>
          </div>
        )}
      </form>
    </Card>
  );
}
