-- Single sign-on: dashboard users created by an OpenID Connect login, matched by issuer and subject.
ALTER TABLE dashboard_user ADD COLUMN oidc_issuer TEXT;
ALTER TABLE dashboard_user ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX dashboard_user_oidc ON dashboard_user (oidc_issuer, oidc_subject);
