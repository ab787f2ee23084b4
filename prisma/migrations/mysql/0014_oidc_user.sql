-- Single sign-on: dashboard users created by an OpenID Connect login, matched by issuer and subject.
ALTER TABLE dashboard_user
  ADD COLUMN oidc_issuer VARCHAR(255) NULL,
  ADD COLUMN oidc_subject VARCHAR(255) NULL,
  ADD UNIQUE KEY dashboard_user_oidc (oidc_issuer, oidc_subject);
