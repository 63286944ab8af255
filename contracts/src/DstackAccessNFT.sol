// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title DstackAccessNFT
 * @notice Our implementation of the interface of the access contract deployed on Base mainnet
 *         (0x37d2106bADB01dd5bE1926e45D172Cb4203C4186): one ERC-721 token per mesh node, carrying the node id
 *         and the node's WireGuard public key. Used by the tests (on anvil) and by anyone who wants to deploy
 *         their own registry.
 *
 * Semantics (the deployed contract is the reference for names and signatures; where its behaviour is not
 * known, the choices below are ours and are documented here):
 *  - Token ids start at 1 and are never reused; tokens are never burned. `totalSupply()` is the number minted.
 *  - Revoking sets `isActive = false`; the token stays with its holder and can still be transferred.
 *  - A node id maps to its most recent token. Minting a node id whose current token is active reverts with
 *    {NodeIdInUse}; a revoked node id may be minted again, and then `getTokenIdByNodeId` returns the new token.
 *  - Deliberately permissive about string contents: only emptiness is rejected. The chain is untrusted input
 *    to the operator, and tests mint malformed keys and node ids to prove that the follower flags them.
 *  - Access checks (`hasNodeAccess`, `verifyAccess`) require the node id's current token to be active and held
 *    by `user`. Data getters (`getPublicKeyByTokenId`, `getPublicKeyByOwner`, `getNodeAccess`) return the
 *    stored data whether or not the token is active.
 */
contract DstackAccessNFT is ERC721, Ownable {
    struct DstackNodeAccess {
        string wireguardPublicKey;
        string nodeId;
        uint256 createdAt;
        bool isActive;
    }

    event NodeAccessGranted(uint256 indexed tokenId, string nodeId, address indexed owner, string wireguardPublicKey);
    event NodeAccessRevoked(uint256 indexed tokenId, string nodeId);
    /// Emitted on every transfer between two holders (mirrors ERC-721 `Transfer`), never on mint.
    event NodeAccessTransferred(uint256 indexed tokenId, address indexed from, address indexed to);
    /// The prototype's key-rotation event; it does not name the token, see {NodeKeyRotated}.
    event PublicKeyUpdated(address indexed owner, string wireguardPublicKey);
    /// Emitted together with {PublicKeyUpdated}, naming the token whose key changed.
    event NodeKeyRotated(uint256 indexed tokenId, string wireguardPublicKey);
    event OwnershipTransferInitiated(address indexed previousOwner, address indexed newOwner);

    error EmptyNodeId();
    error EmptyPublicKey();
    error NodeIdInUse(string nodeId, uint256 tokenId);
    error NodeAccessAlreadyRevoked(uint256 tokenId);
    error NodeAccessInactive(uint256 tokenId);
    error NotTokenOwner(uint256 tokenId, address caller);

    mapping(uint256 tokenId => DstackNodeAccess) private _access;
    mapping(uint256 tokenId => string) private _tokenURIs;
    mapping(bytes32 nodeIdHash => uint256 tokenId) private _tokenIdByNodeId;
    /// The most recent token each address received and still holds (0 if none).
    mapping(address holder => uint256 tokenId) private _latestTokenOf;
    uint256 private _minted;

    constructor() ERC721("Dstack Access", "DSTACK") Ownable(msg.sender) {}

    // ---------------------------------------------------------------- owner-only writes

    function mintNodeAccess(
        address to,
        string memory nodeId,
        string memory wireguardPublicKey,
        string memory tokenURI // the deployed contract's name; shadows tokenURI() (expected warning)
    ) external onlyOwner returns (uint256) {
        if (bytes(nodeId).length == 0) revert EmptyNodeId();
        if (bytes(wireguardPublicKey).length == 0) revert EmptyPublicKey();
        bytes32 h = keccak256(bytes(nodeId));
        uint256 current = _tokenIdByNodeId[h];
        if (current != 0 && _access[current].isActive) revert NodeIdInUse(nodeId, current);

        uint256 tokenId = ++_minted;
        _access[tokenId] = DstackNodeAccess({
            wireguardPublicKey: wireguardPublicKey,
            nodeId: nodeId,
            createdAt: block.timestamp,
            isActive: true
        });
        _tokenURIs[tokenId] = tokenURI;
        _tokenIdByNodeId[h] = tokenId;
        _safeMint(to, tokenId);
        emit NodeAccessGranted(tokenId, nodeId, to, wireguardPublicKey);
        return tokenId;
    }

    function revokeNodeAccess(uint256 tokenId) external onlyOwner {
        _requireOwned(tokenId);
        DstackNodeAccess storage a = _access[tokenId];
        if (!a.isActive) revert NodeAccessAlreadyRevoked(tokenId);
        a.isActive = false;
        emit NodeAccessRevoked(tokenId, a.nodeId);
    }

    function transferContractOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert OwnableInvalidOwner(address(0));
        emit OwnershipTransferInitiated(owner(), newOwner);
        _transferOwnership(newOwner);
    }

    // ---------------------------------------------------------------- token-holder writes

    /// Key rotation by the token's holder. The token must be active.
    function updatePublicKey(uint256 tokenId, string memory newKey) external {
        address holder = _requireOwned(tokenId);
        if (holder != msg.sender) revert NotTokenOwner(tokenId, msg.sender);
        if (bytes(newKey).length == 0) revert EmptyPublicKey();
        DstackNodeAccess storage a = _access[tokenId];
        if (!a.isActive) revert NodeAccessInactive(tokenId);
        a.wireguardPublicKey = newKey;
        emit PublicKeyUpdated(msg.sender, newKey);
        emit NodeKeyRotated(tokenId, newKey);
    }

    // ---------------------------------------------------------------- views

    function getNodeAccess(uint256 tokenId)
        external
        view
        returns (string memory nodeId, string memory wireguardPublicKey, uint256 createdAt, bool isActive)
    {
        _requireOwned(tokenId);
        DstackNodeAccess storage a = _access[tokenId];
        return (a.nodeId, a.wireguardPublicKey, a.createdAt, a.isActive);
    }

    function hasNodeAccess(address user, string memory nodeId) public view returns (bool) {
        uint256 tokenId = _tokenIdByNodeId[keccak256(bytes(nodeId))];
        return tokenId != 0 && _access[tokenId].isActive && _ownerOf(tokenId) == user;
    }

    /// Same rule as {hasNodeAccess}; kept for the prototype's interface.
    function verifyAccess(address user, string memory nodeId) external view returns (bool) {
        return hasNodeAccess(user, nodeId);
    }

    /// The node id's most recent token, active or not; 0 if the node id was never minted.
    function getTokenIdByNodeId(string memory nodeId) external view returns (uint256) {
        return _tokenIdByNodeId[keccak256(bytes(nodeId))];
    }

    /// The key of the most recent token `owner` received and still holds (active or not); "" if none.
    function getPublicKeyByOwner(address owner) external view returns (string memory) {
        uint256 tokenId = _latestTokenOf[owner];
        return tokenId == 0 ? "" : _access[tokenId].wireguardPublicKey;
    }

    function getPublicKeyByTokenId(uint256 tokenId) external view returns (string memory) {
        _requireOwned(tokenId);
        return _access[tokenId].wireguardPublicKey;
    }

    /// Number of tokens ever minted (tokens are never burned, so also the number in existence).
    function totalSupply() external view returns (uint256) {
        return _minted;
    }

    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return _tokenURIs[tokenId];
    }

    // ---------------------------------------------------------------- internals

    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && _latestTokenOf[from] == tokenId) {
            delete _latestTokenOf[from];
        }
        if (to != address(0)) {
            _latestTokenOf[to] = tokenId;
        }
        if (from != address(0) && to != address(0)) {
            emit NodeAccessTransferred(tokenId, from, to);
        }
    }
}
