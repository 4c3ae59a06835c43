import {
  TextField as AriaTextField,
  FieldError,
  Label,
  Text,
  TextArea,
} from "react-aria-components";

/** A multi-line field (a list, one entry a line), labelled like TextField. */
export function TextAreaField(props: {
  label: string;
  value: string;
  onChange(value: string): void;
  description?: string;
  error?: string;
  placeholder?: string;
  rows?: number;
}) {
  return (
    <AriaTextField
      className="field"
      value={props.value}
      onChange={props.onChange}
      isInvalid={props.error !== undefined}
      validationBehavior="aria"
    >
      <Label className="field-label">{props.label}</Label>
      <TextArea
        className="input mono textarea"
        rows={props.rows ?? 3}
        placeholder={props.placeholder}
      />
      {props.description && (
        <Text slot="description" className="field-help">
          {props.description}
        </Text>
      )}
      <FieldError className="field-error">{props.error}</FieldError>
    </AriaTextField>
  );
}

/** The lines of a list field, trimmed, blank ones dropped. */
export function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}
