// SSH helpers shared by the ssh source and the SFTP storage provider.
export * from './host-key.js';
