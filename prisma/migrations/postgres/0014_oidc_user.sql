-- Single sign-on: dashboard users created by an OpenID Connect login, matched by issuer and subject.
ALTER TABLE dashboard_user ADD COLUMN oidc_issuer VARCHAR(255);
ALTER TABLE dashboard_user ADD COLUMN oidc_subject VARCHAR(255);
ALTER TABLE dashboard_user ADD CONSTRAINT dashboard_user_oidc UNIQUE (oidc_issuer, oidc_subject);
