import type { UseQueryResult } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import {
  Button as AriaButton,
  type ButtonProps as AriaButtonProps,
  TextField as AriaTextField,
  FieldError,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Popover,
  Select,
  SelectValue,
  Text,
} from "react-aria-components";
import { ApiError } from "../api/client.ts";
import { type MessageKey, type Translate, useI18n } from "../i18n/index.tsx";

type Variant = "primary" | "secondary" | "danger" | "ghost";

/** A button (react-aria: keyboard, focus ring, `onPress`). `isPending` shows a busy label. */
export function Button({
  variant = "secondary",
  size,
  className,
  children,
  ...props
}: AriaButtonProps & { variant?: Variant; size?: "small"; children: ReactNode }) {
  return (
    <AriaButton
      {...props}
      className={["btn", `btn-${variant}`, size === "small" ? "btn-small" : "", className ?? ""]
        .filter(Boolean)
        .join(" ")}
    >
      {children}
    </AriaButton>
  );
}

/** The message to show for a failed request: the API's own, else a connection problem. */
export function errorMessage(error: unknown, t: Translate): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return t("errorNetwork");
  return error instanceof Error ? error.message : String(error);
}

/** The API's message when a failed request was about `field` (400 4000 names it), else none. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError && error.field === field ? error.message : undefined;
}

export interface TextFieldProps {
  label: string;
  name?: string;
  value: string;
  onChange(value: string): void;
  type?: "text" | "email" | "password" | "url" | "search" | "date" | "datetime-local";
  description?: string;
  /** Shown under the field and marks it invalid (e.g. `fieldError(mutation.error, "email")`). */
  error?: string;
  placeholder?: string;
  autoComplete?: string;
  inputMode?: "numeric" | "decimal" | "text" | "email";
  isRequired?: boolean;
  isDisabled?: boolean;
  autoFocus?: boolean;
  className?: string;
  /** A monospace input for addresses, hashes and codes. */
  mono?: boolean;
}

export function TextField(props: TextFieldProps) {
  return (
    <AriaTextField
      className={`field ${props.className ?? ""}`}
      name={props.name}
      value={props.value}
      onChange={props.onChange}
      type={props.type ?? "text"}
      isRequired={props.isRequired}
      isDisabled={props.isDisabled}
      isInvalid={props.error !== undefined}
      autoComplete={props.autoComplete}
      inputMode={props.inputMode}
      autoFocus={props.autoFocus}
      validationBehavior="aria"
    >
      <Label className="field-label">{props.label}</Label>
      <Input className={props.mono ? "input mono" : "input"} placeholder={props.placeholder} />
      {props.description && (
        <Text slot="description" className="field-help">
          {props.description}
        </Text>
      )}
      <FieldError className="field-error">{props.error}</FieldError>
    </AriaTextField>
  );
}

export interface SelectFieldProps<K extends string> {
  label: string;
  options: readonly { id: K; label: string }[];
  value: K | null;
  onChange(value: K): void;
  placeholder?: string;
  className?: string;
  isDisabled?: boolean;
  /** The label is read by screen readers but not shown (a compact control in a toolbar). */
  hideLabel?: boolean;
}

/** A single choice from a short list (react-aria Select: a listbox in a popover). */
export function SelectField<K extends string>(props: SelectFieldProps<K>) {
  return (
    <Select
      className={`field ${props.className ?? ""}`}
      selectedKey={props.value}
      onSelectionChange={(key) => key !== null && props.onChange(String(key) as K)}
      placeholder={props.placeholder}
      isDisabled={props.isDisabled}
    >
      <Label className={props.hideLabel ? "visually-hidden" : "field-label"}>{props.label}</Label>
      <AriaButton className="input select-button">
        <SelectValue />
        <span aria-hidden="true" className="select-arrow">
          ▾
        </span>
      </AriaButton>
      <Popover className="popover">
        <ListBox className="listbox">
          {props.options.map((o) => (
            <ListBoxItem key={o.id} id={o.id} className="listbox-item" textValue={o.label}>
              {o.label}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </Select>
  );
}

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description && <p className="page-lead">{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Card({
  title,
  actions,
  children,
  className,
}: {
  title?: string;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`card ${className ?? ""}`}>
      {(title || actions) && (
        <div className="card-header">
          {title && <h2>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export type Tone = "neutral" | "success" | "warning" | "danger" | "info";

export function Badge({ tone = "neutral", children }: { tone?: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

const PAYMENT_TONES: Record<string, Tone> = {
  pending: "info",
  success: "success",
  expired: "neutral",
  insufficient_not_refunded: "warning",
  insufficient_refunded: "neutral",
};

/** A payment intent's status as a coloured badge with its translated name. */
export function PaymentStatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  const label = status in PAYMENT_TONES ? t(`status_${status}` as MessageKey) : status;
  return <Badge tone={PAYMENT_TONES[status] ?? "neutral"}>{label}</Badge>;
}

/** A message in the flow of a page: `danger` is announced at once, the others politely. */
export function Notice({ tone = "info", children }: { tone?: Tone; children: ReactNode }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === "danger" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <p className="empty-body">{children}</p>}
      {action}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label ?? t("loading")}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  return (
    <div className="notice notice-danger error-state" role="alert">
      <strong>{t("errorTitle")}</strong>
      <p>{errorMessage(error, t)}</p>
      {onRetry && (
        <Button size="small" onPress={onRetry}>
          {t("retry")}
        </Button>
      )}
    </div>
  );
}

/**
 * A query's loading and error states, and its data once there.
 *
 * @example
 * <QueryState query={useQuery(...)}>{(overview) => <OverviewCards overview={overview} />}</QueryState>
 */
export function QueryState<T>({
  query,
  children,
}: {
  query: UseQueryResult<T>;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => query.refetch()} />;
  return <>{children(query.data)}</>;
}

/** A value to copy (an address, a secret shown once): one press, and a confirmation. */
export function CopyButton({ value, label }: { value: string; label?: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <Button
      size="small"
      variant="ghost"
      // Once pressed, the name is what the button shows ("Label in Name", WCAG 2.5.3).
      aria-label={copied ? t("copied") : (label ?? t("copy"))}
      onPress={async () => {
        await navigator.clipboard.writeText(value);
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? t("copied") : t("copy")}
    </Button>
  );
}

/** Label–value rows (a payment's fields, a key's details). */
export function DetailList({ items }: { items: readonly (readonly [string, ReactNode])[] }) {
  return (
    <dl className="details">
      {items.map(([label, value]) => (
        <div key={label} className="details-row">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
