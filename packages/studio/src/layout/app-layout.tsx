import { useMutation } from "@tanstack/react-query";
import { Link, Outlet, useLocation, useNavigate, useParams } from "@tanstack/react-router";
import { Button as AriaButton, Menu, MenuItem, MenuTrigger, Popover } from "react-aria-components";
import { api, unwrap } from "../api/client.ts";
import { canOpenOrg, orgAccess, useSession, useSetSession } from "../api/session.ts";
import { SelectField } from "../components/ui.tsx";
import { type MessageKey, useI18n } from "../i18n/index.tsx";
import { OPERATOR_NAV, ORG_NAV, type Path } from "../nav.ts";
import { LanguageSwitch } from "./public-frame.tsx";

/** The signed-in frame: navigation on the left, organisation and account on top. */
export function AppLayout() {
  const { t } = useI18n();
  const session = useSession();
  const params = useParams({ strict: false }) as { orgId?: number };
  // Outside an organisation's pages (account, operator, a wrong address), the first one's.
  const orgId =
    params.orgId !== undefined && canOpenOrg(session, params.orgId)
      ? params.orgId
      : session.memberships[0]?.org_id;
  const org = orgId === undefined ? null : orgAccess(session, orgId);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t("skipToContent")}
      </a>
      <aside className="sidebar">
        <Link to="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          {t("brand")}
        </Link>
        <nav aria-label={t("navMain")}>
          {org && (
            <NavList
              entries={ORG_NAV.filter((entry) => org.can(entry.permission))}
              params={{ orgId: org.id }}
            />
          )}
          {session.user.is_operator && (
            <>
              <p className="nav-heading">{t("navOperator")}</p>
              <NavList entries={OPERATOR_NAV} />
            </>
          )}
        </nav>
      </aside>
      <div className="main-column">
        <header className="topbar">
          <OrgSwitcher currentOrgId={params.orgId} />
          <div className="topbar-end">
            <LanguageSwitch />
            <UserMenu />
          </div>
        </header>
        <main id="main" className="main" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}

/** Links of the left navigation; the current page's is marked for the eye and screen readers. */
function NavList({
  entries,
  params,
}: {
  entries: readonly { to: Path; label: MessageKey }[];
  params?: { orgId: number };
}) {
  const { t } = useI18n();
  return (
    <ul className="nav-list">
      {entries.map((entry) => (
        <li key={entry.to}>
          <Link
            to={entry.to}
            // Operator pages take no params; organisation pages take the orgId.
            params={params as never}
            className="nav-link"
            activeProps={{ className: "nav-link active", "aria-current": "page" }}
          >
            {t(entry.label)}
          </Link>
        </li>
      ))}
    </ul>
  );
}

function OrgSwitcher({ currentOrgId }: { currentOrgId: number | undefined }) {
  const { t } = useI18n();
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  if (session.memberships.length === 0) return <span />;
  // Switching keeps the section (payments stay payments), not a payment of another org.
  const section =
    ORG_NAV.find((entry) => location.pathname.includes(`/${entry.to.split("/").pop() ?? ""}`)) ??
    ORG_NAV[0];
  const current = session.memberships.find((m) => m.org_id === currentOrgId);
  return (
    <SelectField
      className="org-switcher"
      label={t("switchOrganization")}
      hideLabel
      placeholder={t("switchOrganization")}
      value={current ? String(current.org_id) : null}
      options={session.memberships.map((m) => ({
        id: String(m.org_id),
        label: `${m.org_name} · ${t(`role_${m.role}`)}`,
      }))}
      onChange={(id) => navigate({ to: section.to, params: { orgId: Number(id) } })}
    />
  );
}

function UserMenu() {
  const { t } = useI18n();
  const session = useSession();
  const setSession = useSetSession();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/admin/session")),
    onSettled: async () => {
      setSession(null);
      await navigate({ to: "/login", search: {} });
    },
  });
  return (
    <MenuTrigger>
      <AriaButton className="user-button">
        <span className="avatar" aria-hidden="true">
          {(session.user.name || session.user.email).slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name">{session.user.name || session.user.email}</span>
        <span className="visually-hidden">{t("userMenu")}</span>
        <span aria-hidden="true">▾</span>
      </AriaButton>
      <Popover className="popover" placement="bottom end">
        <Menu
          className="menu"
          onAction={(key) => {
            if (key === "account") navigate({ to: "/account" });
            if (key === "sign-out") signOut.mutate();
          }}
        >
          <MenuItem id="account" className="menu-item" textValue={t("navAccount")}>
            <span className="menu-item-title">{t("navAccount")}</span>
            <span className="menu-item-sub">{session.user.email}</span>
          </MenuItem>
          <MenuItem id="sign-out" className="menu-item">
            {t("signOut")}
          </MenuItem>
        </Menu>
      </Popover>
    </MenuTrigger>
  );
}
