DROP TABLE crl;
DROP TABLE nonces;
DROP TABLE order_signatures;
DROP TABLE order_accounts;
DROP TABLE orders;
DROP TABLE mandates;
